# Paper Table 6 ResNet-50-D + cosine + label smoothing eps=0.1 (Sec. 5.2, paper's target
# 1-eps / eps/(K-1)). Paper top-1 78.31.
_base_ = ['./resnet50d_cosine_8xb128_in1k.py']
model = dict(head=dict(loss=dict(_delete_=True, type='tricks_mm.BoTLabelSmoothLoss', eps=0.1)))
