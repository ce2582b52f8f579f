# `make demo`: the Section 6 story at toy scale on the embedded synthetic suite, on CPU.
# Same rung configs as the paper ladder; only data, sizes and schedule length change
# (configs/toy/), so the report shows the protocol, not the paper's numbers. Init: the paper's
# Xavier rule for every rung (configs/_base_/models/bot_resnet50_cls.py).
C = 'configs/classification/'
ladder = dict(
    name='demo',  # -> work_dirs/demo/
    # 46-px crops (40-px training crops, configs/toy/classification.py)
    synthetic_data=dict(
        out='data/synthetic',
        seed=0,
        cls_size=46,
        cls_train_per_class=300,
        cls_val_per_class=50,
        det_train=120,
        det_test=40,
        seg_train=120,
        seg_val=40,
        scene_size=128,
    ),
    seeds=[0],
    # two steps side by side, one thread each: on the 2-core development machine that does
    # 1.7x the work of one step on both cores (a toy step does not scale to 2 threads;
    # docs/benchmarks.md). Independent steps only: a step starts once what it reads is recorded.
    jobs=2,
    classify=dict(overlays=['configs/toy/classification.py'], epoch_scale=0.15, auto_scale_lr=True),
    detect=dict(config='configs/toy/faster-rcnn_botr18-d-fpn_toy-voc.py'),
    segment=dict(config='configs/toy/fcn_botr18-d-d8_toy-ade.py'),
    rungs=[
        dict(name='no pretraining'),
        # ResNet-50-B with the standard recipe (step decay, no warmup / zero gamma / no bias
        # decay), as the paper's Tables 8/9 row; its paper numbers are approximate (recalled)
        dict(
            name='B-standard',
            key='b_standard',
            cls_config=C + 'resnet50b_baseline_8xb32_in1k.py',
            paper=dict(top1=76.14, mAP=77.54, pixAcc=78.08, mIoU=37.05),
            paper_approx=['top1', 'mAP', 'pixAcc', 'mIoU'],
        ),
        dict(
            name='D + cosine + LS + mixup',
            key='mixup',
            cls_config=C + 'resnet50d_cosine_ls_mixup_8xb128_in1k.py',
            paper=dict(top1=79.15),
        ),
    ],
)
