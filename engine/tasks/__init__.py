"""Task prompts: a classification prompt and labelled examples in, the prompt that makes the model
answer best out (`optimize_task`), searched over calibration, label words, format, demonstrations and
wording (promptmine.tasks.search), judged on a held-out split; the prompts it chose are saved, to apply
to new inputs (`load_prompt(path).predict(inputs)`, promptmine.tasks.saved).
"""

from promptmine.tasks.data import Example, parse_verbalisers, read_task
from promptmine.tasks.optimize import Metrics, TaskResult, metrics, optimize_task
from promptmine.tasks.prompt import PromptSpec, parse_prompt, render, scoring_form
from promptmine.tasks.saved import RelationPrompt, SavedPrompt, TaskEnsemble, TaskPrompt, load_prompt, predict
from promptmine.tasks.search import Plan
from promptmine.tasks.settings import DIMENSIONS, TaskSettings

__all__ = ["DIMENSIONS", "Example", "Metrics", "Plan", "PromptSpec", "RelationPrompt", "SavedPrompt", "TaskEnsemble",
           "TaskPrompt", "TaskResult", "TaskSettings", "load_prompt", "metrics", "optimize_task", "parse_prompt",
           "parse_verbalisers", "predict", "read_task", "render", "scoring_form"]
