"""The one private piece of Scrapy the distributed scheduler touches, checked on the installed Scrapy.

Work pushed by other workers is picked up at once by scheduling the engine's next loop
(``engine._slot.nextcall.schedule()``); Scrapy has no public trigger for it. Without it the engine's 5 s
heartbeat still picks the work up, so nothing is lost, but a run slows down. This test fails loudly on the
Scrapy version that renames the seam, instead of the slowdown going unnoticed.
"""

from __future__ import annotations

import inspect

import scrapy
from scrapy.core import engine
from scrapy.utils.reactor import CallLaterOnce


def test_the_engine_still_has_a_slot_whose_next_loop_can_be_scheduled():
    assert hasattr(engine, "_Slot"), f"Scrapy {scrapy.__version__}: engine._Slot is gone; see scheduler._wake"
    parameters = inspect.signature(engine._Slot.__init__).parameters
    assert "nextcall" in parameters, f"Scrapy {scrapy.__version__}: _Slot takes no nextcall; see scheduler._wake"
    assert callable(getattr(CallLaterOnce, "schedule", None))
    source = inspect.getsource(engine.ExecutionEngine.__init__)
    assert "self._slot" in source, f"Scrapy {scrapy.__version__}: the engine keeps no _slot; see scheduler._wake"
