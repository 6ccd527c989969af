"""Test kit for promptmine's users and its own tests: a fault-injecting OpenAI-compatible server and
tiny random models. Nothing in the library imports it."""
