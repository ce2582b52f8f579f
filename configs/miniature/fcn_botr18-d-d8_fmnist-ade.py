# FCN on the Fashion-MNIST miniature's ADE20K-format scenes (docs/miniature.md): the toy FCN
# (configs/toy/fcn_botr18-d-d8_toy-ade.py: the paper-scale config with the half-width dilated
# ResNet-18 of the classifiers and narrow heads, 96-px crops of 128-px scenes) with the
# miniature's data root, its ten classes (background ignored, reduce_zero_label as ADE20K) and a
# schedule for its 2,000 training scenes.
_base_ = ['../toy/fcn_botr18-d-d8_toy-ade.py', './fashion_mnist_classes.py']

data_root = 'data/fashion_mnist/seg'
metainfo = {{_base_.fmnist_metainfo}}

model = dict(decode_head=dict(num_classes=10), auxiliary_head=dict(num_classes=10))

train_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
val_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
test_dataloader = val_dataloader

# 2,000 iterations of batch 4 (4 passes over the training scenes): the budget in
# docs/miniature.md.
max_iters = 2000
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
default_hooks = dict(
    logger=dict(interval=50), checkpoint=dict(interval=max_iters, max_keep_ckpts=1)
)
