# The paper's Section 6 protocol at paper scale (ImageNet -> VOC07+12 Faster R-CNN, ADE20K FCN),
# every rung of Tables 8/9 (configs/ladders/_base_/section6_rungs.py: recipes, paper numbers,
# which of them are approximate, the shared ResNet-152-D teachers).
# Launch: 8 processes per step; each task runs at its config's reference total batch (checked
# before a step starts): classification 8 x 32 = 256 (standard) / 8 x 128 = 1024 (efficient),
# Faster R-CNN 8 x 2 = 16, FCN 4 x 4 = 16 (mmseg's 4-GPU recipe, so its launch is 4 processes).
_base_ = ['./_base_/section6_rungs.py']
ladder = dict(
    name='paper_section6',
    launch=dict(launcher='pytorch', nproc_per_node=8),
    seeds=[0],
    classify=dict(),
    # mmdet's standard FPN 1x; the paper's own (GluonCV) design is C4:
    # configs/detection/faster-rcnn_botr50-d-c4_1x_voc0712.py (the ladder binds its RoI head too)
    detect=dict(config='configs/detection/faster-rcnn_botr50-d-fpn_1x_voc0712.py'),
    segment=dict(
        config='configs/segmentation/fcn_botr50-d-d8_4xb4-80k_ade20k-512x512.py',
        launch=dict(nproc_per_node=4),
    ),
    rungs={{_base_.section6_rungs}},
)
