# The paper's baseline schedule (Sec. 2): NAG, batch 256, lr 0.1 / 10 at epochs 30, 60, 90.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4, nesterov=True)
)
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[30, 60, 90], gamma=0.1),
]
train_cfg = dict(by_epoch=True, max_epochs=120, val_interval=1)
val_cfg = dict()
test_cfg = dict()
# Linear scaling rule (Sec. 3.1): lr = 0.1 x batch / 256, applied by --auto-scale-lr.
auto_scale_lr = dict(base_batch_size=256)
