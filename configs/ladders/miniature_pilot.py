# The Fashion-MNIST miniature's pilot (docs/miniature.md): the full miniature ladder
# (configs/ladders/miniature_section6.py: same data, overlays, recipes, epochs, validation every
# epoch, downstream configs) cut to what one 2-core machine runs in about an hour: the recipe
# extremes, B-standard (12 epochs, step decay) and D + cosine + label smoothing + mixup (20
# epochs), beside the no-pretraining control, one seed. It measures what the full ladder's
# budget rests on: the learning curves (do 12 and 20 epochs reach the plateau?), the best
# rung's top-1 on the 10,000 test images against the dataset's published ResNet18 0.949, the
# downstream configs on real scenes, and each step's cost. One seed decides no claim: the
# report says so. tools/ladder.py configs/ladders/miniature_pilot.py
_base_ = ['./miniature_section6.py']
ladder = dict(
    name='miniature_pilot',  # -> work_dirs/miniature_pilot/
    seeds=[0],
    rungs=[{{_base_.rung_control}}, {{_base_.rung_b_standard}}, {{_base_.rung_mixup}}],
    rung_options=dict(_delete_=True),  # the base's teacher options: no teacher here
)
