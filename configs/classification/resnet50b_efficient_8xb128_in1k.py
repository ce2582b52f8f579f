# Paper Table 5 ResNet-50-B (Sec. 4) with the efficient recipe. Paper top-1: 76.66 (approximate).
# Not the "B-standard" row of Tables 8/9: that is resnet50b_baseline_8xb32_in1k.py.
_base_ = ['./resnet50_efficient_8xb128_in1k.py']
model = dict(backbone=dict(variant='b'))
