# Paper Table 5 ResNet-50-C (Sec. 4) with the efficient recipe. Paper top-1: 76.87.
_base_ = ['./resnet50_efficient_8xb128_in1k.py']
model = dict(backbone=dict(variant='c'))
