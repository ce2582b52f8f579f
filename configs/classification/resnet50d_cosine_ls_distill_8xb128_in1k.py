# Paper Table 6 ResNet-50-D + cosine + label smoothing + distillation from ResNet-152-D, T=20
# (Sec. 5.3). Paper top-1 78.67. The label-smoothed hard term keeps the previous rung's loss.
# Set model.teacher_checkpoint to the teacher's trained checkpoint.
_base_ = ['./resnet50d_cosine_ls_8xb128_in1k.py']
model = dict(
    type='tricks_mm.BoTDistillClassifier',
    teacher='configs/classification/resnet152d_cosine_ls_8xb128_in1k.py',
    teacher_checkpoint='work_dirs/resnet152d_cosine_ls_8xb128_in1k/epoch_120.pth',
    distill_loss=dict(type='BoTDistillLoss', temperature=20.0, label_smooth_eps=0.1),
)
