"""Mining (`promptmine.mine`): the templates a corpus uses for relations, given their (subject, object) pairs.

One feature, one package, in the order a corpus goes through it:

- `corpus`: stream sentences from text, .gz and JSONL files and folders, with global positions;
- `settings`: `MiningSettings`, every mining setting and its default, once (with `match.MatchSettings`);
- `match`: find every subject and object mention in one Aho-Corasick pass;
- `extractors/`: turn one mention into templates (`middle` words, `dependency` path), by name;
- `counting`: `mine_batch`, the pure per-batch work (match, parse, extract, count) and mergeable counts;
- `miner`: `mine`, serial or sharded, and the ranking of the merged counts;
- `sharded`: the mining job that `promptmine.sharding` runs over shards of a corpus (resumable, Ray).

Which mined templates are kept (`promptmine.filters`) is shared with paraphrasing, so it lives beside
both packages. The spaCy parser (`promptmine.models.parser`) and the test kit
(`promptmine.testing.mining`) stay with the adapters and the test kit.
"""

from promptmine.mining.counting import MineCounts, PairIndex, TemplateCount, mine_batch
from promptmine.mining.match import MatchSettings
from promptmine.mining.miner import MineResult, mine, mine_result, rank
from promptmine.mining.settings import MiningSettings
from promptmine.sharding import ShardSettings

__all__ = ["MatchSettings", "MineCounts", "MineResult", "MiningSettings", "PairIndex", "ShardSettings", "TemplateCount",
           "mine", "mine_batch", "mine_result", "rank"]
