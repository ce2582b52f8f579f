# Section 6 from published classifiers: how do torchvision's and timm's ResNet-50s (among them
# ports of the paper authors' GluonCV models, trained with these tricks) transfer to VOC Faster
# R-CNN and ADE20K FCN, side by side, without retraining them? Each checkpoint rung is imported
# (tools/transfer.py import), its published top-1 reported as such, then converted and
# fine-tuned exactly like the trained rungs of configs/ladders/paper_section6.py.
# The files are not shipped: download them to checkpoints/ first (docs/transfer.md, "Bring your own
# classifier", lists each file and where it comes from); a missing one is refused before
# anything trains. Top-1: torchvision's model docs (V1 76.13, V2 80.858) and timm's
# results/results-imagenet.csv at 224 px.
_base_ = ['./paper_section6.py']
T = 'checkpoints/timm/'
ladder = dict(
    name='published_section6',
    rungs=[
        dict(name='no pretraining'),
        dict(
            name='torchvision R50 V1',
            checkpoint='checkpoints/resnet50-0676ba61.pth',
            source='torchvision',
            arch='resnet50.tv_in1k',
            top1=76.13,
        ),
        dict(
            name='torchvision R50 V2',
            checkpoint='checkpoints/resnet50-11ad3fa6.pth',
            source='torchvision',
            arch='resnet50.tv2_in1k',
            top1=80.858,
        ),
        dict(
            name='gluon R50-B',
            checkpoint=T + 'resnet50.gluon_in1k.safetensors',
            source='timm',
            arch='resnet50.gluon_in1k',
            top1=77.58,
        ),
        dict(
            name='gluon R50-C',
            checkpoint=T + 'resnet50c.gluon_in1k.safetensors',
            source='timm',
            arch='resnet50c.gluon_in1k',
            top1=78.016,
        ),
        dict(
            name='gluon R50-D',
            checkpoint=T + 'resnet50d.gluon_in1k.safetensors',
            source='timm',
            arch='resnet50d.gluon_in1k',
            top1=79.08,
        ),
        dict(
            name='timm R50-D a1',
            checkpoint=T + 'resnet50d.a1_in1k.safetensors',
            source='timm',
            arch='resnet50d.a1_in1k',
            top1=80.73,
        ),
    ],
)
