# Paper Table 1/6 best: ResNet-50-D + cosine + label smoothing + mixup + distillation, 200 epochs.
# Paper top-1 79.29. The teacher sees the same mixed batch as the student.
_base_ = ['./resnet50d_cosine_ls_mixup_8xb128_in1k.py']
model = dict(
    type='tricks_mm.BoTDistillClassifier',
    teacher='configs/classification/resnet152d_cosine_ls_mixup_8xb128_in1k.py',
    teacher_checkpoint='work_dirs/resnet152d_cosine_ls_mixup_8xb128_in1k/epoch_200.pth',
    distill_loss=dict(type='BoTDistillLoss', temperature=20.0, label_smooth_eps=0.1),
)
