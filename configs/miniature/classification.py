# Overlay (tools/train.py RUNG --overlay configs/miniature/classification.py): any classification
# rung on the Fashion-MNIST miniature (python -m tricks_mm.datasets.fashion_mnist --out
# data/fashion_mnist; docs/miniature.md). It changes data, image size and network width only:
# the rung's recipe keeps its shape, including its learning rate per image. Unlike the toy
# overlay (configs/toy/classification.py, base batch 64) this overlay leaves the rung's
# auto_scale_lr reference alone, so with --auto-scale-lr the standard recipe trains at 0.1 per
# 256 images with step decay and no warmup, the efficient rungs at 0.4 per 1024 with warmup, and
# the epoch ratio between rungs (120 : 200 with mixup) stays whatever --epoch-scale is.
# * training set: the 60,000 training images; validation: the 10,000 test images (the
#   benchmark's test set, also what the dataset's README table reports); never trained on;
# * the toy's network, crops and loader (configs/_base_/datasets/small_images_cls.py): 40-px
#   crops of the 28-px images upscaled (46-px short side at test);
# * validation every epoch, so the classify step records its learning curve (the report marks a
#   classifier still improving over its last 20% of epochs).
_base_ = ['../_base_/datasets/small_images_cls.py']

data_root = 'data/fashion_mnist/cls'
num_classes = 10

model = dict(head=dict(num_classes=num_classes))
data_preprocessor = dict(num_classes=num_classes)
# Batch 128 in one process (the efficient recipe's per-GPU batch); with --auto-scale-lr every
# rung's rate is scaled from its own reference batch.
_dataset = dict(data_root=data_root, classes=data_root + '/classes.txt')
train_dataloader = dict(batch_size=128, dataset=_dataset)
val_dataloader = dict(batch_size=256, dataset=_dataset)
test_dataloader = val_dataloader
default_hooks = dict(logger=dict(interval=50))
train_cfg = dict(val_interval=1)  # every epoch: the learning curve
