"""Run by the warm-start tests as ``python -m _warm_probe MODE``: reports what the process
it runs in looks like, then ends as MODE says."""

import atexit
import multiprocessing
import os
import signal
import sys
import time

if __name__ == '__main__':
    # imported before this module ran: a fresh interpreter has none of the stack loaded yet
    print(f'preloaded={"mmdet.models" in sys.modules}')
    print(f'cwd={os.getcwd()}')
    print(f'probe_env={os.environ.get("WARM_PROBE")}')
    import torch

    print(f'threads={torch.get_num_threads()}')
    print(f'start_method={multiprocessing.get_start_method()}')
    print(f'argv={sys.argv[1:]}')
    atexit.register(lambda: print('exit handlers ran', flush=True))
    sys.stdout.write('no newline at the end')
    sys.stdout.flush()
    mode = sys.argv[1]
    if mode == 'kill':
        os.kill(os.getpid(), signal.SIGKILL)
    if mode == 'raise':
        raise RuntimeError('probe failed on purpose')
    if mode == 'sleep':
        print(f'\npid={os.getpid()}', flush=True)
        time.sleep(300)
    sys.exit(int(mode))
