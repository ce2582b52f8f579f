# Section 6 as a faithful miniature on real images (docs/miniature.md): every rung of the paper's
# Tables 8/9 (configs/ladders/_base_/section6_rungs.py, the paper ladder's list), the
# no-pretraining control, three seeds, FPN Faster R-CNN and FCN downstream, on Fashion-MNIST:
# pretraining on its 60,000 training images, downstream scenes composed from its test items
# only (python -m tricks_mm.datasets.fashion_mnist; needs Debian's dataset-fashion-mnist or a
# download). tools/ladder.py configs/ladders/miniature_section6.py ->
# work_dirs/miniature_section6/report.md.
# Each rung keeps its recipe's shape (configs/miniature/classification.py): the paper's rate per
# image with --auto-scale-lr, its warmup or none, its decay, and the 120 : 200 epoch ratio
# (epoch_scale 0.1: 12 and 20 epochs, validated every epoch for the learning curve).
_base_ = ['./_base_/section6_rungs.py']
# Teachers: the paper's is a deeper ResNet-152-D with the student's recipe, trained once; here a
# ResNet-34-D at the miniature's width with the student's recipe and schedule (shared=True in
# the rung list: one teacher for every seed); the report checks it beats its students.
_teacher = {'cls_options': {'model.backbone.depth': 34}}
ladder = dict(
    name='miniature_section6',  # -> work_dirs/miniature_section6/
    fashion_mnist_data=dict(out='data/fashion_mnist', seed=0),
    seeds=[0, 1, 2],
    jobs=2,  # two steps side by side, one thread each, on the 2-core machine
    classify=dict(
        overlays=['configs/miniature/classification.py'],
        epoch_scale=0.1,
        auto_scale_lr=True,
        val_interval=1,  # every epoch: the learning curve, in the step's logs
    ),
    detect=dict(config='configs/miniature/faster-rcnn_botr18-d-fpn_fmnist-voc.py'),
    segment=dict(config='configs/miniature/fcn_botr18-d-d8_fmnist-ade.py'),
    rungs={{_base_.section6_rungs}},
    rung_options={'teacher': _teacher, 'teacher (mixup)': _teacher},
)
