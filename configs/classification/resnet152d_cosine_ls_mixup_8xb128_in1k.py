# Teacher for distillation with mixup: "the teacher is also trained with mixup" (Sec. 5.4).
_base_ = ['./resnet50d_cosine_ls_mixup_8xb128_in1k.py']
model = dict(backbone=dict(depth=152))
