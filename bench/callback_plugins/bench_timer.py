"""Records when each play and task starts and on which host each task ran, for bench/run.py.

Enabled only by bench/run.py (ANSIBLE_CALLBACK_PLUGINS=bench/callback_plugins,
ANSIBLE_CALLBACKS_ENABLED=bench_timer); writes JSON to $NESTEDKVM_BENCH_TIMINGS at the end of the run:

  {"plays": [{"name", "start"}], "tasks": [{"name", "action", "play", "start", "results": [[host, where, changed]]}],
   "end": <time>}

``where`` is the host the task really ran on (the delegate, for a delegated task). A play's or a task's
duration is the start of the next one (or "end") minus its own start, as profilers of Ansible runs count it.
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: bench_timer
type: aggregate
short_description: Play and task start times for bench/run.py
description: Writes play and task start times, and the hosts each task ran on, as JSON to $NESTEDKVM_BENCH_TIMINGS.
requirements: [enabled in ANSIBLE_CALLBACKS_ENABLED]
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'bench_timer'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._record = {'plays': [], 'tasks': []}

    def v2_playbook_on_play_start(self, play):
        self._record['plays'].append({'name': play.get_name(), 'start': time.time()})

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._record['tasks'].append({'name': task.get_name(), 'action': task.action,
                                      'play': len(self._record['plays']) - 1, 'start': time.time(), 'results': []})

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task, False)

    def _ran(self, result, *_ignore_errors):
        if not self._record['tasks']:
            return
        delegated = result._result.get('_ansible_delegated_vars') or {}
        where = delegated.get('ansible_delegated_host') or result._host.get_name()
        self._record['tasks'][-1]['results'].append([result._host.get_name(), where, bool(result._result.get('changed'))])

    v2_runner_on_ok = _ran
    v2_runner_on_failed = _ran

    def v2_playbook_on_stats(self, stats):
        self._record['end'] = time.time()
        path = os.environ.get('NESTEDKVM_BENCH_TIMINGS')
        if path:
            with open(path, 'w') as out:
                json.dump(self._record, out)
