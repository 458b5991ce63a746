"""Learning-rate schedulers, as PyTorch's ``torch.optim.lr_scheduler`` (also reachable as
``zen.optim.lr_scheduler``): each sets its optimiser's ``lr`` when made (epoch 0) and at every
``step()``, from the lr the optimiser had when the scheduler was made (``base_lrs``), in
closed form: the values of PyTorch's ``step()`` where nothing else changes the lr."""

from __future__ import annotations

import math
from typing import Any

from zen import arguments
from zen.errors import ArgumentError


class LRScheduler:
    """Base class: a subclass gives ``factor(epoch)``, the multiple of the base lr."""

    def __init__(self, optimizer: Any) -> None:
        if not hasattr(optimizer, "lr"):
            raise ArgumentError(f"{type(self).__name__}: optimizer must be a zen.optim "
                                f"optimiser (with an lr), got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lrs = [optimizer.lr]
        self.last_epoch = -1
        self.step()

    def factor(self, epoch: int) -> float:
        raise NotImplementedError

    def lr_at(self, epoch: int) -> float:
        return self.base_lrs[0] * self.factor(epoch)

    def step(self) -> None:
        """Move to the next epoch and set the optimiser's lr for it."""
        self.last_epoch += 1
        self.optimizer.lr = self.lr_at(self.last_epoch)

    def get_last_lr(self) -> list[float]:
        """The lr set by the last step, as a list of one (PyTorch's has one per group)."""
        return [self.optimizer.lr]

    def state_dict(self) -> dict[str, Any]:
        return {"last_epoch": self.last_epoch, "base_lrs": list(self.base_lrs)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Resume at ``state_dict``'s epoch and set the optimiser's lr for it."""
        who = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict) or set(state_dict) != {"last_epoch", "base_lrs"}:
            raise ArgumentError(f"{who}: needs a scheduler's state_dict(), with last_epoch "
                                f"and base_lrs, got {state_dict!r}")
        epoch = arguments.integer(who, "last_epoch", state_dict["last_epoch"], minimum=0)
        base_lrs = [arguments.number(who, "base_lrs[0]", lr, low=0, finite=True)  # as lr=
                    for lr in state_dict["base_lrs"]]
        self.last_epoch, self.base_lrs = epoch, base_lrs     # set only once all is checked
        self.optimizer.lr = self.lr_at(self.last_epoch)


class StepLR(LRScheduler):
    """lr = base lr * gamma ** (epoch // step_size)."""

    def __init__(self, optimizer: Any, step_size: int, gamma: float = 0.1) -> None:
        self.step_size = arguments.integer("StepLR", "step_size", step_size, minimum=1)
        self.gamma = arguments.number("StepLR", "gamma", gamma, low=0, low_open=True,
                                      finite=True)
        super().__init__(optimizer)

    def factor(self, epoch: int) -> float:
        return self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """lr = base lr * gamma ** epoch."""

    def __init__(self, optimizer: Any, gamma: float) -> None:
        self.gamma = arguments.number("ExponentialLR", "gamma", gamma, low=0, low_open=True,
                                      finite=True)
        super().__init__(optimizer)

    def factor(self, epoch: int) -> float:
        return self.gamma ** epoch


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2: from the base
    lr down to eta_min over T_max epochs (and back up over the next T_max, as PyTorch's)."""

    def __init__(self, optimizer: Any, T_max: int, eta_min: float = 0.0) -> None:
        self.T_max = arguments.integer("CosineAnnealingLR", "T_max", T_max, minimum=1)
        self.eta_min = arguments.number("CosineAnnealingLR", "eta_min", eta_min, low=0,
                                        finite=True)
        super().__init__(optimizer)

    def lr_at(self, epoch: int) -> float:
        cosine = (1 + math.cos(math.pi * epoch / self.T_max)) / 2
        return self.eta_min + (self.base_lrs[0] - self.eta_min) * cosine


class LinearLR(LRScheduler):
    """A linear warm-up (or cool-down): the factor goes from start_factor to end_factor over
    total_iters epochs, then stays at end_factor."""

    def __init__(self, optimizer: Any, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5) -> None:
        self.start_factor = arguments.number("LinearLR", "start_factor", start_factor, low=0,
                                             high=1, low_open=True)
        self.end_factor = arguments.number("LinearLR", "end_factor", end_factor, low=0, high=1)
        self.total_iters = arguments.integer("LinearLR", "total_iters", total_iters, minimum=1)
        super().__init__(optimizer)

    def factor(self, epoch: int) -> float:
        progress = min(epoch, self.total_iters) / self.total_iters
        return self.start_factor + (self.end_factor - self.start_factor) * progress
