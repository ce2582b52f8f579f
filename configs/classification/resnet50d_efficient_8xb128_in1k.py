# Paper Table 5 ResNet-50-D (Sec. 4) with the efficient recipe; the "D-efficient" row of Tables 8/9.
# Paper top-1: 77.16 (approximate: recalled, not checked against the paper).
_base_ = ['./resnet50_efficient_8xb128_in1k.py']
model = dict(backbone=dict(variant='d'))
