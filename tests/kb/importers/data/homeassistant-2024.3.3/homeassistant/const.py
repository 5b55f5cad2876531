# The release constants of Home Assistant 2024.3.3 homeassistant/const.py (lines 6 and 17-19; Apache-2.0, see
# LICENSE.md beside homeassistant/ here): the release the importer reads.
from typing import Final

MAJOR_VERSION: Final = 2024
MINOR_VERSION: Final = 3
PATCH_VERSION: Final = "3"
