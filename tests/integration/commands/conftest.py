"""The `vigia run` tests sweep the simulator into a database of their own, like the pipeline tests:
they take the pipeline suite's fixtures."""

from tests.integration.pipeline.conftest import pipeline_database as pipeline_database
from tests.integration.pipeline.conftest import pipeline_redis as pipeline_redis
from tests.integration.pipeline.conftest import sim_dataset as sim_dataset
from tests.integration.pipeline.conftest import simulator as simulator
