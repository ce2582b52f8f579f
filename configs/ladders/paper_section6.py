# The paper's Section 6 protocol at paper scale (ImageNet -> VOC07+12 Faster R-CNN, ADE20K FCN).
# Paper numbers (He et al. 2019; see shared reference): top-1 from Tables 5/6, mAP from Table 8,
# pixAcc / mIoU from Table 9, where the paper reports them for that rung.
C = 'configs/classification/'
ladder = dict(
    name='paper_section6',
    launch=dict(launcher='pytorch', nproc_per_node=8),
    seeds=[0],
    classify=dict(),
    # mmdet's standard FPN 1x; the paper's own (GluonCV) design is C4:
    # configs/detection/faster-rcnn_botr50-d-c4_1x_voc0712.py (the ladder binds its RoI head too)
    detect=dict(config='configs/detection/faster-rcnn_botr50-d-fpn_1x_voc0712.py'),
    segment=dict(config='configs/segmentation/fcn_botr50-d-d8_4xb4-80k_ade20k-512x512.py'),
    rungs=[
        dict(name='no pretraining'),
        dict(name='B-standard', cls_config=C + 'resnet50b_efficient_8xb128_in1k.py',
             paper=dict(top1=76.66, mAP=77.54, pixAcc=78.08, mIoU=37.05)),
        dict(name='D-standard', cls_config=C + 'resnet50d_efficient_8xb128_in1k.py',
             paper=dict(top1=77.16, mAP=78.30, pixAcc=78.88, mIoU=38.88)),
        dict(name='+ cosine', cls_config=C + 'resnet50d_cosine_8xb128_in1k.py',
             paper=dict(top1=77.91, pixAcc=79.25, mIoU=39.33)),
        dict(name='+ label smoothing', cls_config=C + 'resnet50d_cosine_ls_8xb128_in1k.py',
             paper=dict(top1=78.31)),
        dict(name='teacher R152-D', cls_config=C + 'resnet152d_cosine_ls_8xb128_in1k.py',
             report=False, transfer=False),
        dict(name='+ distillation', cls_config=C + 'resnet50d_cosine_ls_distill_8xb128_in1k.py',
             teacher='teacher R152-D', paper=dict(top1=78.67)),
        dict(name='+ mixup', cls_config=C + 'resnet50d_cosine_ls_mixup_8xb128_in1k.py',
             paper=dict(top1=79.15)),
        dict(name='teacher R152-D mixup',
             cls_config=C + 'resnet152d_cosine_ls_mixup_8xb128_in1k.py',
             report=False, transfer=False),
        dict(name='+ mixup + distillation',
             cls_config=C + 'resnet50d_cosine_ls_mixup_distill_8xb128_in1k.py',
             teacher='teacher R152-D mixup', paper=dict(top1=79.29, mAP=81.33)),
    ])
