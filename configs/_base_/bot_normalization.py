# The paper's input normalisation (Sec. 2.1: "normalize RGB channels by subtracting 123.68,
# 116.779, 103.939 and dividing by 58.393, 57.12, 57.375"), the one copy every config uses: the
# classifier's preprocessor, and the detectors' and segmentors', so transferred features see the
# input they were trained on. Use as `mean={{_base_.BOT_MEAN}}, std={{_base_.BOT_STD}}`.
BOT_MEAN = [123.68, 116.779, 103.939]
BOT_STD = [58.393, 57.12, 57.375]
