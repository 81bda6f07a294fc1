"""Pure loss functions: contrastive and triplet margin (with fused forms that never list tuples), the angular-margin
softmax losses (ArcFace, CosFace), Proxy-Anchor, Multi-Similarity, SupCon and NT-Xent.

The similarity-based losses take a cosine-similarity matrix and boolean positive/negative masks (which pairs count),
so mined pairs, a batch and a cross-batch memory are all the same call.
"""

from __future__ import annotations

import math
from typing import Literal

import torch

from metrickit.distances.tensor import safe_sqrt
from metrickit.miners._indices import LabelMasks, positive_slots

__all__ = ["Reduction", "batch_accuracy", "contrastive_loss", "fused_contrastive_loss", "fused_margin_softmax_loss", "fused_triplet_loss", "margin_softmax_loss", "multi_similarity_loss",
           "ntxent_loss", "proxy_anchor_loss", "reduce_losses", "supcon_loss", "triplet_margin_loss"]

Reduction = Literal["mean_nonzero", "mean", "sum", "none"]
TripletRule = Literal["all", "semihard"]
MarginRule = Literal["arcface", "cosface"]


def reduce_losses(losses: torch.Tensor, reduction: Reduction, anchor: torch.Tensor) -> torch.Tensor:
    """Reduce per-tuple losses; an empty or all-zero set gives 0 still attached to ``anchor``'s graph.

    ``mean_nonzero`` averages over the tuples with a positive loss (pytorch-metric-learning's
    ``AvgNonZeroReducer``), ``mean`` over all tuples, ``sum`` adds them, ``none`` returns them.
    """
    if reduction == "none":
        return losses
    zero = (anchor * 0).sum()  # keeps backward() valid when there is nothing to average
    if losses.numel() == 0:
        return zero
    if reduction == "sum":
        return losses.sum()
    if reduction == "mean":
        return losses.mean()
    nonzero = losses > 0
    n = int(nonzero.sum())
    return losses.sum() / n if n else zero + losses.sum() * 0


def contrastive_loss(
    distances: torch.Tensor, same: torch.Tensor, margin: float = 1.0, reduction: Reduction = "mean_nonzero"
) -> torch.Tensor:
    """``y d^2 + (1 - y) max(0, margin - d)^2`` per pair (Hadsell, Chopra & LeCun 2006).

    Parameters
    ----------
    distances : Tensor of shape (n_pairs,)
        Plain (not squared) Euclidean distances.
    same : Tensor of shape (n_pairs,), bool
        True for a positive (same-class) pair.
    """
    same = same.to(torch.bool)
    losses = torch.where(same, distances.square(), torch.relu(margin - distances).square())
    return reduce_losses(losses, reduction, distances)


def fused_contrastive_loss(
    embeddings: torch.Tensor,
    positive: torch.Tensor,
    margin: float,
    reduction: Reduction = "mean_nonzero",
    ref_embeddings: torch.Tensor | None = None,
    stats: dict | None = None,
) -> torch.Tensor:
    """The contrastive loss over every pair, from one distance matrix, without listing the pairs.

    Within a batch (``ref_embeddings=None``) the pairs are the unordered ``i < j``; against a reference set,
    every ``(i, r)``. ``positive`` (n_query, n_ref) bool marks the same-label pairs. The gradient is formed
    directly: with ``W = dloss/d(d^2)`` per pair (1 for a positive, ``-(m - d) / d`` for an active negative,
    0 at ``d = 0`` as :func:`~metrickit.distances.tensor.safe_sqrt` has it), ``dloss/dx_i = 2 sum_j W_ij (x_i - x_j)``,
    two matrix products; only ``W`` is kept for the backward pass (pytorch-metric-learning keeps the distance
    matrix, the pair lists and their gathered distances).

    Parameters
    ----------
    embeddings : Tensor of shape (batch_size, embedding_dim)
    positive : Tensor of shape (batch_size, n_ref), bool
    reduction : {'mean_nonzero', 'mean', 'sum'}
        ``mean_nonzero`` divides by the pairs with a positive loss, ``mean`` by all pairs.
    stats : dict, optional
        Filled with ``n_pairs`` and ``n_active`` (pairs with a positive loss).
    """
    if reduction == "none":
        raise ValueError("reduction='none' needs the pairs listed: pass `indices` (e.g. pair_indices(labels)).")
    stats = {} if stats is None else stats
    ref = embeddings if ref_embeddings is None else ref_embeddings
    return _FusedContrastive.apply(embeddings, ref, positive, ref_embeddings is None, float(margin), reduction, stats)


class _FusedContrastive(torch.autograd.Function):
    """Contrastive loss of (embeddings, ref) over all pairs; the backward pass needs only the pair weights ``W``."""

    @staticmethod
    def forward(ctx, embeddings, ref, positive, same, margin, reduction, stats):
        from metrickit.distances.tensor import pairwise_squared_distances

        # Two (n, r) float buffers in all, filled in place: d, then t, which ends as the weights kept for backward.
        # Within a batch both stay symmetric (each unordered pair twice; the diagonal is zero, as d is): the sums halve, and the
        # backward pass needs one product.
        d = pairwise_squared_distances(embeddings, None if same else ref).sqrt_()  # (n, r)
        t = (margin - d).clamp_min_(0.0).masked_fill_(positive, 0.0).addcmul_(positive, d)  # m - d on active negatives, d on positives
        copies = 2 if same else 1
        total = torch.dot(t.view(-1), t.view(-1)).double() / copies  # sum of d^2 over positives and (m - d)^2 over negatives
        n_active = int(torch.count_nonzero(t)) // copies
        n = len(embeddings)
        n_pairs = n * (n - 1) // 2 if same else t.numel()
        stats.update(n_pairs=n_pairs, n_active=n_active)
        denominator = {"sum": 1, "mean": n_pairs, "mean_nonzero": n_active}[reduction]
        scale = 1.0 / denominator if denominator else 0.0
        weights = t.div_(d).nan_to_num_(nan=0.0, posinf=0.0).neg_().masked_fill_(positive, 1.0)  # dloss/d(d^2); 0 where d = 0
        ctx.same = same
        ctx.save_for_backward(embeddings, ref, weights.mul_(scale))
        return (total * scale).to(embeddings.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        embeddings, ref, weights = ctx.saved_tensors  # weights (n, r), symmetric within a batch
        row = weights.sum(1, keepdim=True)
        if ctx.same:  # each unordered pair moves both ends; W_ii (x_i - x_i) = 0, so the diagonal's weight is moot
            grad = (row * embeddings - weights @ embeddings).mul_(2 * grad_output)
            return grad, None, None, None, None, None, None
        grad = (row * embeddings - weights @ ref).mul_(2 * grad_output)
        grad_ref = (weights.sum(0)[:, None] * ref - weights.T @ embeddings).mul_(2 * grad_output) if ctx.needs_input_grad[1] else None
        return grad, grad_ref, None, None, None, None, None


def triplet_margin_loss(
    ap: torch.Tensor, an: torch.Tensor, margin: float = 0.2, reduction: Reduction = "mean_nonzero"
) -> torch.Tensor:
    """``max(0, d(a, p) - d(a, n) + margin)`` per triplet, in the units of ``ap`` and ``an``.

    With squared distances (FaceNet) the margin is in squared units too.
    """
    return reduce_losses(torch.relu(ap - an + margin), reduction, ap)


def fused_triplet_loss(
    distances: torch.Tensor,
    masks: LabelMasks,
    margin: float,
    rule: TripletRule = "all",
    reduction: Reduction = "mean_nonzero",
    stats: dict | None = None,
) -> torch.Tensor:
    """The triplet margin loss over every triplet a rule selects, without listing the triplets.

    ``rule="all"`` takes every valid triplet (batch-all); ``rule="semihard"`` the band
    ``0 < d(a, n) - d(a, p) <= margin`` (pytorch-metric-learning's semi-hard miner), both in the
    units of ``distances``. Per anchor, the negatives' distances are sorted once with prefix sums;
    then for each positive ``p`` the triplets with a positive loss are those with
    ``d(a, n) < d(a, p) + margin`` (and, for the band, ``d(a, n) > d(a, p)``): a binary search gives
    their count and the prefix sums their total, so the loss is exact in O(B^2 log B) time and
    O(B^2) memory instead of O(B^2 * n_positives). The gradient is counts as well: ``d loss / d d(a, p)``
    is the number of active triplets of that pair and ``d loss / d d(a, n)`` minus the number of
    active triplets through that negative.

    Parameters
    ----------
    distances : Tensor of shape (n_query, n_ref)
    masks : LabelMasks
        Positive and negative masks of the same shape.
    reduction : {'mean_nonzero', 'mean', 'sum'}
        ``mean`` divides by the number of selected triplets. ``'none'`` needs listed triplets: use a miner.
    stats : dict, optional
        Filled with ``n_selected`` and ``n_active`` (selected triplets with a positive loss).
    """
    if reduction == "none":
        raise ValueError("reduction='none' needs explicit triplets: mine them (e.g. BatchAllMiner) and pass `indices`.")
    slots = positive_slots(masks.positive)
    ap = distances.gather(1, slots.index)  # (n_query, n_slots)
    stats = {} if stats is None else stats
    return _FusedTriplet.apply(ap, distances, slots.valid, masks.negative, float(margin), rule, reduction, stats)


class _FusedTriplet(torch.autograd.Function):
    """Loss of (ap, distances) from sorted negatives; the gradient is kept as two count matrices.

    Which triplets count is decided in the miners' own arithmetic, ``d(a, n) - d(a, p)`` compared
    with the margin, so the fused path selects exactly the triplets :class:`BatchAllMiner` and
    :class:`SemiHardMiner` list, at every margin (zero included) and at rounding ties.
    """

    @staticmethod
    def forward(ctx, ap, distances, valid, negative, margin, rule, reduction, stats):
        inf = torch.tensor(float("inf"), dtype=distances.dtype, device=distances.device)
        negatives = torch.sort(torch.where(negative, distances, inf), dim=1).values  # (n_query, n_ref), +inf last
        a = torch.where(valid, ap, 0.0)  # (n_query, n_slots)
        active_end = _band_end(a, margin, strict=True)  # active iff d(a, n) < active_end (loss > 0)
        band = rule == "semihard"
        lo = torch.searchsorted(negatives, a, right=True) if band else torch.zeros_like(a, dtype=torch.int64)
        count = torch.where(valid, (torch.searchsorted(negatives, active_end) - lo).clamp_min(0), 0)  # (n_query, n_slots)
        t = a + margin  # each active triplet's loss is t - d(a, n)
        total = (count * t.double() - _range_sums(negatives, lo, lo + count)).where(count > 0, 0.0).sum()
        # Slots without an active triplet are moved out of reach, so no column counts them.
        empty = ~valid | (count == 0) if band else ~valid
        through = _through(
            a.masked_fill(empty, float("inf")) if band else None,
            active_end.masked_fill(empty, float("inf") if band else -float("inf")),
            distances,
        )  # active positives per (anchor, negative)
        n_active = int(count.sum())
        if band:
            selected_end = _band_end(a, margin, strict=False)  # selected iff a < d(a, n) < selected_end
            n_selected = int(torch.where(valid, (torch.searchsorted(negatives, selected_end) - lo).clamp_min(0), 0).sum())
        else:
            n_selected = int((valid.sum(1) * negative.sum(1)).sum())
        stats.update(n_selected=n_selected, n_active=n_active)
        denominator = {"sum": 1, "mean": n_selected, "mean_nonzero": n_active}[reduction]
        scale = 1.0 / denominator if denominator else 0.0
        grad_d = through.masked_fill_(~negative, 0).to(distances.dtype).mul_(-scale)
        ctx.save_for_backward(count.to(ap.dtype).mul_(scale), grad_d)
        return (total * scale).to(ap.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        grad_ap, grad_d = ctx.saved_tensors
        return grad_ap * grad_output, grad_d * grad_output, None, None, None, None, None, None


def _band_end(ap: torch.Tensor, margin: float, strict: bool) -> torch.Tensor:
    """Per entry, the smallest ``d`` outside ``d - ap < margin`` (``<=`` when not ``strict``), in floating point.

    ``d - ap`` rounds, so the end is not always ``ap + margin``: start there and step to the
    neighbouring floats until the miners' own test changes (one or two steps at most).
    """
    inside = (lambda d: d - ap < margin) if strict else (lambda d: d - ap <= margin)
    end = ap + margin
    finite = torch.isfinite(end)
    for _ in range(_MAX_ULP_STEPS):
        up = inside(end) & finite
        if not bool(up.any()):
            break
        end = torch.where(up, torch.nextafter(end, torch.full_like(end, float("inf"))), end)
    for _ in range(_MAX_ULP_STEPS):
        below = torch.nextafter(end, torch.full_like(end, -float("inf")))
        down = ~inside(below) & finite
        if not bool(down.any()):
            break
        end = torch.where(down, below, end)
    return end


_MAX_ULP_STEPS = 16


def _range_sums(sorted_rows: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
    """Per row, the float64 sum of ``sorted_rows[i, lo:hi]`` (finite entries only) for each (lo, hi) pair."""
    finite = torch.where(torch.isfinite(sorted_rows), sorted_rows, 0.0)
    inclusive = torch.cumsum(finite, dim=1, dtype=torch.float64)  # (n, r)
    at = lambda idx: torch.where(idx > 0, inclusive.gather(1, (idx - 1).clamp_min(0)), 0.0)  # noqa: E731  sum of the first idx
    return at(hi) - at(lo)


def _through(a: torch.Tensor | None, end: torch.Tensor, distances: torch.Tensor) -> torch.Tensor:
    """Per (anchor, column), how many positives have ``d < end`` (and ``a < d`` when ``a`` is given); int32.

    With ``a`` given, every slot must have ``a < end`` or both at +inf, so the difference of counts is never negative.
    """
    below = torch.searchsorted(torch.sort(end, dim=1).values, distances, right=True, out_int32=True)  # positives with end <= d
    if a is None:
        return end.shape[1] - below
    return torch.searchsorted(torch.sort(a, dim=1).values, distances, out_int32=True) - below


def margin_softmax_loss(
    cosines: torch.Tensor, labels: torch.Tensor, margin: float, scale: float, rule: MarginRule = "arcface",
    reduction: Reduction = "mean",
) -> torch.Tensor:
    """Cross-entropy of ``scale * cos`` with a margin on each sample's own class (ArcFace, CosFace).

    ``rule="arcface"`` (Deng et al. 2019): the target logit is ``scale * cos(theta + margin)``, ``margin`` an angle in
    radians; past ``theta > pi - margin``, where that would rise again, ``cos(theta) - margin * sin(margin)`` keeps it
    decreasing (as the authors' code does). ``rule="cosface"`` (Wang et al. 2018): ``scale * (cos(theta) - margin)``,
    ``margin`` in cosine units. Every other logit is ``scale * cos(theta_j)``.

    Parameters
    ----------
    cosines : Tensor of shape (batch_size, n_classes)
        Cosine of each embedding with each class's weight vector.
    labels : Tensor of shape (batch_size,)
        Class codes in ``[0, n_classes)``.
    """
    target = cosines.gather(1, labels[:, None])  # (batch, 1)
    shifted = _shifted_target(target, margin, rule)
    logits = (cosines * scale).scatter_(1, labels[:, None], shifted * scale)  # one (batch, classes) buffer
    return reduce_losses(torch.nn.functional.cross_entropy(logits, labels, reduction="none"), reduction, cosines)


def _shifted_target(target: torch.Tensor, margin: float, rule: MarginRule) -> torch.Tensor:
    """The own class's cosine with the margin of ``rule`` (see :func:`margin_softmax_loss`)."""
    return _shifted_and_slope(target, margin, rule, slope=False)[0]


def _shifted_and_slope(target: torch.Tensor, margin: float, rule: MarginRule, slope: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
    """:func:`_shifted_target` and, with ``slope``, its derivative in ``target`` (what autograd would give: at
    ``cos = 1``, where ``sin`` has no derivative, the sine's term counts 0)."""
    if rule == "arcface":
        within = target >= math.cos(math.pi - margin)
        sine = safe_sqrt(1.0 - target.square())  # sin(theta) >= 0; a 0 gradient where theta = 0 (cos = 1)
        shifted = torch.where(within, target * math.cos(margin) - sine * math.sin(margin), target - margin * math.sin(margin))
        if not slope:
            return shifted, None
        sine_term = torch.where(sine > 0, target / sine.clamp_min(torch.finfo(sine.dtype).tiny), 0.0) * math.sin(margin)
        return shifted, torch.where(within, sine_term + math.cos(margin), 1.0)
    if rule == "cosface":
        return target - margin, torch.ones_like(target) if slope else None
    raise ValueError(f"`rule` must be 'arcface' or 'cosface'; got {rule!r}.")


def fused_margin_softmax_loss(
    embeddings: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor, margin: float, scale: float,
    rule: MarginRule = "arcface", per_class: int = 1, reduction: Reduction = "mean", stats: dict | None = None,
) -> torch.Tensor:
    """:func:`margin_softmax_loss` from the embeddings and the class vectors themselves (``weight``: (n_classes *
    per_class, embedding_dim), class ``c``'s rows ``c*K .. c*K + K-1``; a class's cosine is its closest row's), with a
    hand-written backward pass: one (batch, n_classes) buffer is kept, where autograd would keep several. ``stats``,
    if given, receives ``accuracy``: the fraction of the batch whose highest cosine is its own class's."""
    losses = _FusedMarginSoftmax.apply(embeddings, weight, labels, float(margin), float(scale), rule, int(per_class),
                                       {} if stats is None else stats)
    return reduce_losses(losses, reduction, embeddings)


@torch.no_grad()
def batch_accuracy(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """The fraction of rows whose highest score is their label's: a class head's accuracy on the batch it scored."""
    return float((scores.argmax(1) == labels).float().mean())


def _closest_sub_centres(unit: torch.Tensor, centres: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each row's cosine with each class's closest sub-centre (batch, n_classes); which one was chosen, a
    (K, batch, n_classes) boolean, true at the first sub-centre reaching the maximum (``torch.max``'s choice); and the
    centres sub-centre-major, (K * n_classes, dim).

    ``centres`` (n_classes, K, dim) are unit vectors. The products are laid out sub-centre-major, so the maximum runs
    over contiguous (batch, n_classes) slices rather than a trailing dimension of size K (several times slower)."""
    n_classes, per_class, dim = centres.shape
    stacked = centres.transpose(0, 1).reshape(-1, dim)
    products = (unit @ stacked.T).view(len(unit), per_class, n_classes)
    best = products.amax(1)
    chosen = torch.empty(per_class, len(unit), n_classes, dtype=torch.bool, device=unit.device)
    taken = torch.zeros_like(best, dtype=torch.bool)
    for k in range(per_class):
        torch.logical_and(products[:, k] == best, ~taken, out=chosen[k])
        taken |= chosen[k]
    return best, chosen, stacked


class _FusedMarginSoftmax(torch.autograd.Function):
    """Per-sample cross-entropy of ``scale * cos`` with the margin on the own class; saves the softmax, the unit
    embeddings and class vectors, and each row's target slope."""

    @staticmethod
    def forward(ctx, embeddings, weight, labels, margin, scale, rule, per_class, stats):
        norms = torch.linalg.vector_norm(embeddings, dim=1, keepdim=True)
        inverse = 1.0 / norms.clamp_min(1e-12)  # a zero embedding has cosine 0 with every class
        unit = embeddings * inverse
        weight_norms = torch.linalg.vector_norm(weight, dim=1, keepdim=True)
        unit_weight = weight / weight_norms.clamp_min(1e-12)
        chosen = stacked = None
        if per_class == 1:
            cosines = unit @ unit_weight.T  # (batch, n_classes)
        else:
            cosines, chosen, stacked = _closest_sub_centres(unit, unit_weight.view(-1, per_class, unit.shape[1]))
        rows = labels[:, None]
        shifted, slope = _shifted_and_slope(cosines.gather(1, rows), margin, rule)
        stats["accuracy"] = batch_accuracy(cosines, labels) if len(labels) else None
        logits = cosines.mul_(scale).scatter_(1, rows, shifted * scale)  # the cosines' buffer, in place
        log_normaliser = torch.logsumexp(logits, dim=1, keepdim=True)
        losses = (log_normaliser - shifted * scale).squeeze(1)
        softmax = logits.sub_(log_normaliser).exp_()
        ctx.scale, ctx.per_class = scale, per_class
        ctx.save_for_backward(unit, inverse, norms, unit_weight, weight_norms, labels, slope, softmax, chosen, stacked)
        ctx.mark_non_differentiable(labels)
        return losses

    @staticmethod
    def backward(ctx, grad_losses):
        unit, inverse, norms, unit_weight, weight_norms, labels, slope, softmax, chosen, stacked = ctx.saved_tensors
        rows = labels[:, None]
        # d loss_i / d logit_ij = softmax_ij - [j = y_i]; the target logit is scale * shifted(cos), hence its slope
        grad = softmax.scatter_add(1, rows, -torch.ones_like(slope)).mul_(grad_losses[:, None] * ctx.scale)  # (kept for a second backward)
        grad.scatter_(1, rows, grad.gather(1, rows) * slope)  # d loss / d cos, (batch, n_classes)
        grad_embeddings = grad_weight = None
        if ctx.per_class == 1:
            toward = grad @ unit_weight if ctx.needs_input_grad[0] else None
            toward_weight = grad.T @ unit if ctx.needs_input_grad[1] else None
        else:  # only each class's closest vector received its cosine: sub-centre k's share is grad where k was chosen
            batch, n_classes, dim = len(grad), grad.shape[1], unit.shape[1]
            shares = grad.new_empty(batch, ctx.per_class, n_classes)  # sub-centre-major, as the products were
            for k, mask in enumerate(chosen):
                torch.mul(grad, mask, out=shares[:, k])
            shares = shares.view(batch, -1)
            toward = shares @ stacked if ctx.needs_input_grad[0] else None
            toward_weight = ((shares.T @ unit).view(ctx.per_class, n_classes, dim).transpose(0, 1).reshape(-1, dim)
                             if ctx.needs_input_grad[1] else None)
        if ctx.needs_input_grad[0]:  # through u = x / |x|: (g - (g . u) u) / |x|; zero where x was clamped
            along = torch.linalg.vecdot(toward, unit, dim=1)[:, None]
            grad_embeddings = torch.addcmul(toward, unit, along, value=-1.0).mul_(inverse.masked_fill(norms < 1e-12, 0.0))
        if ctx.needs_input_grad[1]:
            toward = toward_weight
            along = torch.linalg.vecdot(toward, unit_weight, dim=1)[:, None]
            grad_weight = torch.addcmul(toward, unit_weight, along, value=-1.0).div_(weight_norms.clamp_min(1e-12))
            grad_weight = grad_weight.masked_fill(weight_norms < 1e-12, 0.0)
        return grad_embeddings, grad_weight, None, None, None, None, None, None


def proxy_anchor_loss(cosines: torch.Tensor, labels: torch.Tensor, margin: float = 0.1, alpha: float = 32.0) -> torch.Tensor:
    """Proxy-Anchor loss (Kim et al. 2020) from the cosines (batch_size, n_classes) of embeddings with class proxies.

    ``(1/|P+|) sum_{p in P+} log(1 + sum_{x in X_p+} exp(-alpha (s(x, p) - margin)))
    + (1/|P|) sum_{p in P} log(1 + sum_{x in X_p-} exp(alpha (s(x, p) + margin)))``: ``P+`` are the proxies of the
    classes in the batch, ``X_p+`` the batch's samples of ``p``'s class, ``X_p-`` the others; ``margin`` is in cosine
    units, ``alpha`` a scale (inverse temperature).
    """
    positive = torch.nn.functional.one_hot(labels, cosines.shape[1]).bool()  # (batch, n_classes)
    pos = _log1p_sum_exp(-alpha * (cosines - margin), positive, dim=0)  # per proxy
    neg = _log1p_sum_exp(alpha * (cosines + margin), ~positive, dim=0)
    n_with_positives = int(positive.any(0).sum())
    return pos.sum() / max(n_with_positives, 1) + neg.sum() / cosines.shape[1]


def multi_similarity_loss(
    similarities: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, alpha: float = 2.0, beta: float = 50.0,
    base: float = 0.5, reduction: Reduction = "mean",
) -> torch.Tensor:
    """Multi-Similarity loss (Wang et al. 2019), per anchor (row):
    ``(1/alpha) log(1 + sum_P exp(-alpha (S_ip - base))) + (1/beta) log(1 + sum_N exp(beta (S_in - base)))``.

    ``similarities`` (n_query, n_ref) are cosines; ``positive`` and ``negative`` (bool, same shape) mark the pairs that
    count (all of them, or those a :class:`~metrickit.miners.MultiSimilarityMiner` keeps). ``base`` (lambda) is in
    cosine units. ``mean`` averages over every anchor (one with no pair counts as 0).
    """
    pos = _log1p_sum_exp(-alpha * (similarities - base), positive, dim=1) / alpha
    neg = _log1p_sum_exp(beta * (similarities - base), negative, dim=1) / beta
    return reduce_losses(pos + neg, reduction, similarities)


def supcon_loss(
    similarities: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, temperature: float = 0.1,
    reduction: Reduction = "mean_nonzero",
) -> torch.Tensor:
    """Supervised contrastive loss (Khosla et al. 2020), per anchor ``i`` with positives ``P(i)``:
    ``-(1/|P(i)|) sum_{p in P(i)} log(exp(S_ip / t) / sum_{a in A(i)} exp(S_ia / t))``, ``A(i) = P(i) + N(i)``.

    ``temperature`` ``t`` divides the cosines. An anchor without positives has loss 0; ``mean_nonzero`` averages over
    the others (pytorch-metric-learning's reduction).
    """
    logits = similarities / temperature
    denominator = torch.logsumexp(logits.masked_fill(~(positive | negative), -float("inf")), dim=1, keepdim=True)
    log_prob = (logits - denominator).masked_fill(~positive, 0.0)
    n_positive = positive.sum(1)
    losses = -log_prob.sum(1) / n_positive.clamp_min(1)
    return reduce_losses(torch.where(n_positive > 0, losses, 0.0), reduction, similarities)


def ntxent_loss(
    similarities: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, temperature: float = 0.07,
    reduction: Reduction = "mean",
) -> torch.Tensor:
    """NT-Xent (SimCLR, Chen et al. 2020), per positive pair ``(i, p)``:
    ``-log(exp(S_ip / t) / (exp(S_ip / t) + sum_{n in N(i)} exp(S_in / t)))``.

    With two views of each image (its index as the label) every anchor has one positive, the other view; with more
    positives each pair is its own term, against the anchor's negatives only. ``none`` returns the pairs' losses in
    row-major order of ``positive``.
    """
    logits = similarities / temperature
    negatives = torch.logsumexp(logits.masked_fill(~negative, -float("inf")), dim=1, keepdim=True)  # (n_query, 1)
    per_pair = torch.logaddexp(logits, negatives.expand_as(logits)) - logits  # (n_query, n_ref)
    return reduce_losses(per_pair[positive], reduction, similarities)


def _log1p_sum_exp(x: torch.Tensor, mask: torch.Tensor, dim: int) -> torch.Tensor:
    """``log(1 + sum exp(x))`` over the entries of ``mask`` along ``dim`` (0 where none), stably."""
    x = x.masked_fill(~mask, -float("inf"))
    zero = torch.zeros_like(x.narrow(dim, 0, 1))
    return torch.logsumexp(torch.cat([x, zero], dim=dim), dim=dim)
