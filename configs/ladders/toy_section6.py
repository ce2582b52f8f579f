# Section 6 in full at toy scale: the no-pretraining control and every reported rung of the
# paper's Tables 8/9 (configs/ladders/_base_/section6_rungs.py, the paper ladder's list), three
# seeds, FPN Faster R-CNN and FCN downstream, on the embedded synthetic suite (same data, sizes,
# task settings and jobs as `make demo`, configs/ladders/toy_demo.py).
# tools/ladder.py configs/ladders/toy_section6.py -> work_dirs/toy_section6/report.md with
# t-intervals over the seeds, paired same-seed differences and a verdict per claim. The toy
# numbers are synthetic data at toy scale and are not comparable to the paper's.
_base_ = ['./toy_demo.py', './_base_/section6_rungs.py']
# Toy distillation teachers: the paper's teacher is a deeper ResNet-152-D with the student's
# recipe. Here: ResNet-34-D at the toy width (the overlay's half-width stages), trained twice as
# long as the + label smoothing student (36 toy epochs, cosine stretched to match), so it should
# beat its students on top-1; the report's "Distillation teachers" lines check that it does.
# Like the paper's, each teacher is trained once (seed 0) and serves the students of all seeds.
_teacher = {
    'cls_options': {
        'model.backbone.depth': 34,
        'train_cfg.max_epochs': 36,
        'param_scheduler.1.end': 36,
        'param_scheduler.1.T_max': 35.25,  # cosine from the 0.75-epoch warmup to epoch 36
    }
}
ladder = dict(
    name='toy_section6',  # -> work_dirs/toy_section6/
    seeds=[0, 1, 2],
    rungs={{_base_.section6_rungs}},
    rung_options={'teacher': _teacher, 'teacher (mixup)': _teacher},
)
