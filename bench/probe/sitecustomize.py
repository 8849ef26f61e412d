"""bench/run.py's probe: appends one line to $NESTEDKVM_BENCH_OPENS for every libvirt connection a
Python process opens, so the bench can count connections per module run. Only on PYTHONPATH for
that (untimed) measurement."""

import os

if os.environ.get('NESTEDKVM_BENCH_OPENS'):
    try:
        import libvirt
    except ImportError:
        pass
    else:
        def _counted(open_function):
            def opened(*args, **kwargs):
                with open(os.environ['NESTEDKVM_BENCH_OPENS'], 'a') as log:
                    log.write('%d %s\n' % (os.getpid(), args[0] if args else ''))
                return open_function(*args, **kwargs)
            return opened

        for _name in ('open', 'openAuth', 'openReadOnly'):
            setattr(libvirt, _name, _counted(getattr(libvirt, _name)))
