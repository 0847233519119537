"""Run a checkpointed graph for one envelope, safely under redelivery.

The handler of a role (or of the workflow runner) runs in its thread's turn (the worker
holds the thread, envelopes in order, see ``equipage.worker``), looks at the thread's
checkpoint and then either starts the graph on the new envelope, finishes a run that a
dead worker left half done, resumes a thread paused on a question, or parks a
message until the person answers. It returns what the run emitted; the worker commits
that with the ack.
"""

from equipage.runtime.thread import ThreadRunner
from equipage.runtime.workflow import WorkflowRunner

__all__ = ["ThreadRunner", "WorkflowRunner"]
