"""The paper's PCA lighting noise, with the uint8 clipping mmpretrain's ``Lighting`` lacks.

Why: mmpretrain 1.2.0's ``Lighting`` adds the noise in float and casts straight back to the
image dtype; for uint8 images a value below 0 or above 255 wraps around (a black pixel becomes
~250), which sprinkles bright speckles over dark regions. Clipping to [0, 255] first gives the
lighting change AlexNet / the paper describe.
"""

from typing import Dict

import mmcv
import numpy as np
from mmpretrain.datasets.transforms import Lighting

from tricks_mm.registry import TRANSFORMS


@TRANSFORMS.register_module()
class BoTLighting(Lighting):
    """mmpretrain ``Lighting`` (same arguments) that clips before casting back to uint8."""

    def transform(self, results: Dict) -> Dict:
        img = results['img']
        lit = mmcv.adjust_lighting(
            img, self.eigval, self.eigvec, alphastd=self.alphastd, to_rgb=self.to_rgb
        )
        if img.dtype == np.uint8:
            lit = np.clip(lit, 0, 255)
        results['img'] = lit.astype(img.dtype)
        return results
