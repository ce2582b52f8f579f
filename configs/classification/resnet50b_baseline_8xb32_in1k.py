# Paper Tables 8/9 "B-standard": ResNet-50-B (Sec. 4) trained with the *standard* recipe of
# Sec. 2: batch 256 (8 GPUs x 32), FP32, NAG, lr 0.1 / 10 at epochs 30, 60, 90, 120 epochs,
# Xavier init. The top-1 those tables list for it reads about 76.14 (approximate: recalled, not
# checked against the paper), not Table 5's efficient-recipe 76.66
# (resnet50b_efficient_8xb128_in1k.py).
_base_ = ['./resnet50_baseline_8xb32_in1k.py']
model = dict(backbone=dict(variant='b'))
