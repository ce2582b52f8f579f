# mmdet's Pascal VOC "1x" schedule, as in mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py
# (where it is inline, not a _base_): 4 epochs over VOC0712 trainval repeated 3 times (= 12),
# SGD lr 0.01 at batch 16, x0.1 after epoch 3. tests/configs assert it equals mmdet's.
max_epochs = 4
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[3], gamma=0.1)
]
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001)
)
auto_scale_lr = dict(enable=False, base_batch_size=16)
