# The distillation teacher (Sec. 5.3): ResNet-152-D trained with cosine decay + label smoothing.
_base_ = ['./resnet50d_cosine_ls_8xb128_in1k.py']
model = dict(backbone=dict(depth=152))
