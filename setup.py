"""Build hook: the wheel carries ``configs/`` as ``tricks_mm/.mim/configs``.

OpenMMLab packages ship their configs inside the package (mmdet's ``add_mim_extension`` copies
them into ``mmdet/.mim`` before ``setup()``). Here the copy goes into the build directory only,
so the source tree never holds a second copy or a symlink; an editable install reads the
checkout's ``configs/`` directly (:mod:`tricks_mm.utils.paths`). Everything else about the
package is declared in ``pyproject.toml``.
"""

import os.path as osp
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

CONFIGS = osp.join(osp.dirname(osp.abspath(__file__)), 'configs')


class BuildPyWithConfigs(build_py):
    """``build_py`` that also copies ``configs/`` into the built package."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        if not osp.isdir(CONFIGS):
            raise FileNotFoundError(
                f'{CONFIGS} is missing: build from a checkout or an sdist '
                f'made by `python -m build` (MANIFEST.in grafts configs/)'
            )
        target = osp.join(self.build_lib, 'tricks_mm', '.mim', 'configs')
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(CONFIGS, target, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))


setup(cmdclass={'build_py': BuildPyWithConfigs})
