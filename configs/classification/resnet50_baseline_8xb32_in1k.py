# Paper Table 1/2 "Baseline" ResNet-50: batch 256 (8 GPUs x 32), FP32, step schedule, 120 epochs,
# Xavier init (the rule of every rung: configs/_base_/models/bot_resnet50_cls.py).
# Paper top-1 75.3 (reference), 75.87 (their baseline run).
_base_ = [
    '../_base_/models/bot_resnet50_cls.py',
    '../_base_/datasets/imagenet_bot.py',
    '../_base_/schedules/baseline_step_120e.py',
    'mmpretrain::_base_/default_runtime.py',
]
