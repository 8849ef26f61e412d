"""Stand-in for the get-pip.py that ansible-test downloads to bootstrap pip in its venvs.

ansible-test first looks for a cached copy under ~/.ansible/test/cache/; hack/ansible-test.sh puts
this file there. It runs pip from the wheel bundled with the interpreter's ensurepip and installs
what ansible-test asked for (e.g. pip==24.2) from the configured package index.
"""
import glob
import os
import runpy
import sys

import ensurepip

wheels = sorted(glob.glob(os.path.join(os.path.dirname(ensurepip.__file__), '_bundled', 'pip-*.whl')))
if not wheels:
    sys.exit('get_pip_offline: the interpreter has no bundled pip wheel (install python3-venv / ensurepip)')
# Options only the real get-pip.py understands.
args = [arg for arg in sys.argv[1:] if arg not in ('--no-setuptools', '--no-wheel')]
sys.path.insert(0, wheels[-1])
sys.argv = ['pip', 'install'] + args
runpy.run_module('pip', run_name='__main__', alter_sys=True)
