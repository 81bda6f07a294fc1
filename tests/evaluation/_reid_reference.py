"""Independent, deliberately literal re-implementations used as oracles (loops, dense matrices).

``eval_market1501`` follows torchreid's ``metrics/rank.py`` (``eval_market1501``); ``compute_ap_market`` follows
Market-1501's own MATLAB ``evaluation.m`` / ``compute_AP.m`` (junk: identity -1, and same identity in the same camera);
``re_ranking`` follows the authors' reference ``re_ranking`` (Zhong et al. 2017) in float64, given squared
Euclidean distances.
"""

import numpy as np


def eval_market1501(distmat, q_pids, g_pids, q_camids, g_camids, max_rank):
    num_q, num_g = distmat.shape
    indices = np.argsort(distmat, axis=1, kind="stable")
    matches = (g_pids[indices] == q_pids[:, np.newaxis]).astype(np.int32)
    all_cmc, all_AP, num_valid_q = [], [], 0
    for q_idx in range(num_q):
        order = indices[q_idx]
        remove = (g_pids[order] == q_pids[q_idx]) & (g_camids[order] == q_camids[q_idx])
        keep = np.invert(remove)
        raw_cmc = matches[q_idx][keep]
        if not np.any(raw_cmc):
            continue
        cmc = raw_cmc.cumsum()
        cmc[cmc > 1] = 1
        cmc = np.concatenate([cmc, np.ones(max(0, max_rank - len(cmc)), dtype=cmc.dtype)])  # short kept lists: matched stays matched
        all_cmc.append(cmc[:max_rank])
        num_valid_q += 1
        num_rel = raw_cmc.sum()
        tmp_cmc = raw_cmc.cumsum()
        tmp_cmc = np.asarray([x / (i + 1.0) for i, x in enumerate(tmp_cmc)]) * raw_cmc
        all_AP.append(tmp_cmc.sum() / num_rel)
    return np.asarray(all_cmc).astype(np.float64).sum(0) / num_valid_q, np.mean(all_AP), num_valid_q


def compute_ap_market(good_image, junk_image, index):
    """Line by line from Market-1501's compute_AP.m (1-based loop turned 0-based)."""
    cmc = np.zeros(len(index))
    ngood = len(good_image)
    old_recall, old_precision, ap, intersect_size, j, good_now, njunk = 0.0, 1.0, 0.0, 0, 0, 0, 0
    for n in range(len(index)):
        flag = 0
        if index[n] in good_image:
            cmc[n - njunk:] = 1
            flag = 1
            good_now += 1
        if index[n] in junk_image:
            njunk += 1
            continue
        if flag == 1:
            intersect_size += 1
        recall = intersect_size / ngood
        precision = intersect_size / (j + 1)
        ap = ap + (recall - old_recall) * ((old_precision + precision) / 2)
        old_recall, old_precision = recall, precision
        j += 1
        if good_now == ngood:
            return ap, cmc
    return ap, cmc


def evaluation_market(distmat, q_pids, g_pids, q_camids, g_camids, max_rank):
    """Market-1501's evaluation.m: per query, good = same id in another camera; junk = same id and camera, or id -1."""
    all_cmc, all_ap = [], []
    for i in range(len(q_pids)):
        index = np.argsort(distmat[i], kind="stable")
        good = set(np.flatnonzero((g_pids == q_pids[i]) & (g_camids != q_camids[i])).tolist())
        junk = set(np.flatnonzero(((g_pids == q_pids[i]) & (g_camids == q_camids[i])) | (g_pids == -1)).tolist())
        if not good:
            continue
        ap, cmc = compute_ap_market(good, junk, index)
        all_ap.append(ap)
        all_cmc.append(cmc[:max_rank])
    return np.mean(all_cmc, axis=0), float(np.mean(all_ap)), len(all_ap)


def re_ranking(q_g_dist, q_q_dist, g_g_dist, k1=20, k2=6, lambda_value=0.3):
    original_dist = np.concatenate(
        [np.concatenate([q_q_dist, q_g_dist], axis=1), np.concatenate([q_g_dist.T, g_g_dist], axis=1)], axis=0)
    original_dist = np.transpose(1.0 * original_dist / np.max(original_dist, axis=0))
    V = np.zeros_like(original_dist)
    initial_rank = np.argsort(original_dist, kind="stable")
    query_num = q_g_dist.shape[0]
    all_num = original_dist.shape[0]
    for i in range(all_num):
        forward_k_neigh_index = initial_rank[i, : k1 + 1]
        backward_k_neigh_index = initial_rank[forward_k_neigh_index, : k1 + 1]
        fi = np.where(backward_k_neigh_index == i)[0]
        k_reciprocal_index = forward_k_neigh_index[fi]
        k_reciprocal_expansion_index = k_reciprocal_index
        for j in range(len(k_reciprocal_index)):
            candidate = k_reciprocal_index[j]
            candidate_forward_k_neigh_index = initial_rank[candidate, : int(np.around(k1 / 2)) + 1]
            candidate_backward_k_neigh_index = initial_rank[candidate_forward_k_neigh_index, : int(np.around(k1 / 2)) + 1]
            fi_candidate = np.where(candidate_backward_k_neigh_index == candidate)[0]
            candidate_k_reciprocal_index = candidate_forward_k_neigh_index[fi_candidate]
            if len(np.intersect1d(candidate_k_reciprocal_index, k_reciprocal_index)) > 2 / 3 * len(candidate_k_reciprocal_index):
                k_reciprocal_expansion_index = np.append(k_reciprocal_expansion_index, candidate_k_reciprocal_index)
        k_reciprocal_expansion_index = np.unique(k_reciprocal_expansion_index)
        weight = np.exp(-original_dist[i, k_reciprocal_expansion_index])
        V[i, k_reciprocal_expansion_index] = 1.0 * weight / np.sum(weight)
    original_dist = original_dist[:query_num]
    if k2 != 1:
        V_qe = np.zeros_like(V)
        for i in range(all_num):
            V_qe[i, :] = np.mean(V[initial_rank[i, :k2], :], axis=0)
        V = V_qe
    invIndex = [np.where(V[:, i] != 0)[0] for i in range(all_num)]
    jaccard_dist = np.zeros_like(original_dist)
    for i in range(query_num):
        temp_min = np.zeros(shape=[1, all_num])
        indNonZero = np.where(V[i, :] != 0)[0]
        indImages = [invIndex[ind] for ind in indNonZero]
        for j in range(len(indNonZero)):
            temp_min[0, indImages[j]] = temp_min[0, indImages[j]] + np.minimum(V[i, indNonZero[j]], V[indImages[j], indNonZero[j]])
        jaccard_dist[i] = 1 - temp_min / (2 - temp_min)
    final_dist = jaccard_dist * (1 - lambda_value) + original_dist * lambda_value
    return final_dist[:query_num, query_num:]
