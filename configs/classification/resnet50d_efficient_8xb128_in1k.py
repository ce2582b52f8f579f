# Paper Table 5 ResNet-50-D (Sec. 4) with the efficient recipe. Paper top-1: 77.16.
_base_ = ['./resnet50_efficient_8xb128_in1k.py']
model = dict(backbone=dict(variant='d'))
