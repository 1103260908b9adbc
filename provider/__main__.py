"""Entry point of Keelson's component provider: the engine runs `python provider <engine address>`.

The repository root is the Keelson program itself (Pulumi.yaml and its __main__.py), so the plugin
has this directory of its own, and imports `keelson` from the repository beside it (the engine
starts it in the consumer's directory). Everything it serves is in keelson.provider.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from keelson.provider import main  # noqa: E402

main()
