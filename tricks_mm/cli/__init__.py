"""Command-line entry points; ``tools/*.py`` are thin wrappers around these ``main`` functions."""

import warnings

# mmengine reloads pkg_resources each time it resolves a package-scoped config
# (`mmdet::...`, mmengine/utils/package_utils.py) and setuptools >= 81 warns on every load: 20
# identical lines on a demo's console. Only that message is silenced, only in the commands.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)
