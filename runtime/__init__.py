"""Settings, models, caches, commands: what the graph runs on."""

import os

# litellm (under DSPy) fetches a model price map from the internet on import and waits
# between retries; the bundled copy is enough and keeps start-up offline and fast.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
