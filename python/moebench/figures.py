"""The columns of `moebench report` (docs/REPORT.md, "Columns"), recomputed with pandas from a
file's measured cubes. Medians are over iterations; percentiles interpolate linearly between
order statistics (numpy's default), as src/core/metrics.cpp does."""

import numpy as np
import pandas as pd

GB = 1e9
GIB = 1024.0 ** 3
DTYPE_BYTES = {"fp32": 4, "bf16": 2, "fp16": 2, "fp8": 1}


def _sum(df, names):
    return sum(df[n].astype(float) for n in names if n in df)


def _per_iteration_layer(m):
    """Per (strategy, iteration, layer): sums and maxima over ranks."""
    m = m.copy()
    m["_sent"] = _sum(m, ["bytes_sent_intra", "bytes_sent_inter"])
    m["_recv"] = _sum(m, ["bytes_recv_intra", "bytes_recv_inter"])
    m["_csent"] = _sum(m, ["bytes_sent_intra_combine", "bytes_sent_inter_combine"])
    m["_crecv"] = _sum(m, ["bytes_recv_intra_combine", "bytes_recv_inter_combine"])
    m["comm"] = m["_sent"] + m["_csent"]
    m["inter"] = _sum(m, ["bytes_sent_inter", "bytes_sent_inter_combine"])
    m["dbytes"] = np.maximum(m["_sent"], m["_recv"])
    m["cbytes"] = np.maximum(m["_csent"], m["_crecv"])
    m["idle"] = _sum(m, ["t_wait_dispatch", "t_wait_combine"])
    m["load"] = m["rows_computed"].astype(float)
    m["load2"] = m["load"] ** 2
    keys = ["strategy", "iteration", "layer"]
    g = m.groupby(keys, observed=True, sort=True)
    il = g.agg(comm=("comm", "sum"), inter=("inter", "sum"), dbytes=("dbytes", "max"),
               cbytes=("cbytes", "max"), idle=("idle", "sum"), tl_sum=("t_layer", "sum"),
               t_layer=("t_layer", "max"), t_ffn=("t_ffn", "max"),
               t_dispatch=("t_dispatch", "max"), t_combine=("t_combine", "max"),
               load_sum=("load", "sum"), load2=("load2", "sum"), load_max=("load", "max"),
               ranks=("rank", "count"), batch_tokens=("batch_tokens", "first")).reset_index()
    il["idle_fraction"] = np.where(il["tl_sum"] > 0, il["idle"] / il["tl_sum"].where(
        il["tl_sum"] > 0, 1), 0.0)
    il["jain"] = np.where(il["load2"] > 0, il["load_sum"] ** 2 / (
        il["ranks"] * il["load2"].where(il["load2"] > 0, 1)), 1.0)
    il["balancedness"] = np.where(il["load_max"] > 0, il["load_sum"] / il["ranks"] / il[
        "load_max"].where(il["load_max"] > 0, 1), 1.0)
    return il


def _rate(amount, seconds):
    return amount / seconds if seconds > 0 else 0.0


def _ratio(x, base, kind):
    if not (np.isfinite(x) and np.isfinite(base)):
        return np.nan
    if kind == "reduction":
        return 100.0 * (1.0 - x / base) if base != 0 else np.nan
    return base / x if x > 0 else np.nan  # speedup: base time / time


def _expert_bytes(r):
    cfg = r.config
    model = cfg.get("model", {})
    hidden = model.get("hidden", r.provenance.get("hidden", 0))
    ffn = model.get("ffn_hidden", r.provenance.get("ffn_hidden", 0))
    dtype = cfg.get("placement", {}).get("expert_dtype") or r.provenance.get("act_dtype", "")
    return 3.0 * float(hidden or 0) * float(ffn or 0) * DTYPE_BYTES.get(dtype, 0)


def _placement_figures(r, name):
    p = r.placement
    p = p[p["strategy"] == name]
    if p.empty:
        return {"replicas": np.nan, "expert_mem_gib": np.nan}
    extra = p[p["replica"] > 0].groupby("layer").size().reindex(
        sorted(p["layer"].unique()), fill_value=0)
    max_slots = p.groupby("rank").size().max()
    eb = _expert_bytes(r)
    return {"replicas": float(extra.mean()),
            "expert_mem_gib": max_slots * eb / GIB if eb > 0 else np.nan}


def _whole(il, tokens_median, ranks, predicted_total, simulated):
    """Whole-batch figures of one strategy from its per-(iteration, layer) frame."""
    per_layer = il.groupby("layer").agg(comm=("comm", "median"), inter=("inter", "median"),
                                        idle=("idle_fraction", "median"),
                                        jain=("jain", "median"),
                                        bal=("balancedness", "median"),
                                        t50=("t_layer", "median"))
    per_it = il.groupby("iteration").agg(batch=("t_layer", "sum"), ffn=("t_ffn", "sum"),
                                         disp=("t_dispatch", "sum"), comb=("t_combine", "sum"),
                                         dbytes=("dbytes", "sum"), cbytes=("cbytes", "sum"))
    comm, inter = per_layer["comm"].sum(), per_layer["inter"].sum()
    bus = (ranks - 1) / ranks if ranks > 0 else 0.0
    med = per_it.median()
    f = {"comm_gb": comm / GB, "inter_gb": inter / GB,
         "inter_share": 100.0 * inter / comm if comm > 0 else 0.0,
         "idle_pct": 100.0 * per_layer["idle"].mean(), "jain": per_layer["jain"].mean(),
         "balancedness": per_layer["bal"].mean(),
         "throughput": _rate(tokens_median, med["batch"]),
         "batch_ms": 1e3 * med["batch"], "ffn_ms": 1e3 * med["ffn"],
         "dispatch_ms": 1e3 * med["disp"], "combine_ms": 1e3 * med["comb"],
         "algbw_gbps": _rate(med["dbytes"], med["disp"]) / GB,
         "combine_algbw_gbps": _rate(med["cbytes"], med["comb"]) / GB,
         "_t_batch_s": med["batch"]}
    f["busbw_gbps"] = bus * f["algbw_gbps"]
    f["combine_busbw_gbps"] = bus * f["combine_algbw_gbps"]
    for q in (50, 95, 99):
        f["p%d_ms" % q] = float(np.percentile(1e3 * il["t_layer"].to_numpy(), q))
    f["meas_pred"] = (per_layer["t50"].sum() / predicted_total
                      if predicted_total and predicted_total > 0 and not simulated else np.nan)
    return f


def strategy_figures(r, baseline="baseline"):
    """One row per strategy: id columns, status, reason, then the report's columns."""
    m = r.measures
    il = _per_iteration_layer(m) if len(m) else None
    ls = r.layer_summary
    simulated = r.provenance.get("backend") == "model"
    rows = []
    for _, s in r.strategies.iterrows():
        name = s["strategy"]
        row = {k: s[k] for k in r.id_columns}
        row.update({"status": s["status"], "reason": s["reason"]})
        dev = s.get("routing_deviation")
        row["routing_dev_pct"] = 100.0 * dev if dev is not None and dev >= 0 else np.nan
        row["placement_s"] = s.get("placement_time_s", np.nan)
        row.update(_placement_figures(r, name))
        mine = il[il["strategy"] == name] if il is not None else None
        if mine is not None and len(mine):
            pred = ls[ls["strategy"] == name] if len(ls) else ls
            ptot = (pred["predicted_t_layer"].sum() if "predicted_t_layer" in pred
                    and len(pred) == mine["layer"].nunique() else None)
            tokens = float(np.median(mine.groupby("iteration")["batch_tokens"].first()))
            ranks = int(mine["ranks"].iloc[0])
            row.update(_whole(mine, tokens, ranks, ptot, simulated))
        rows.append(row)
    df = pd.DataFrame(rows)
    _add_ratios(df, baseline)
    return df.drop(columns=[c for c in df.columns if c.startswith("_")])


def _add_ratios(df, baseline):
    for col in ("comm_gb", "inter_gb", "_t_batch_s"):
        if col not in df:
            df[col] = np.nan
    # Each sweep cell against its own reference (group NAME@CELL), a file without cells against
    # the one strategy of that name.
    cells = df["cell"] if "cell" in df else pd.Series([""] * len(df), index=df.index)
    refs = {}
    for c in set(cells):
        key = baseline + "@" + c if c else baseline
        base = df[df["strategy"] == key]
        refs[c] = base.iloc[0] if len(base) else None

    def get(c, col):
        b = refs.get(c)
        return b[col] if b is not None else np.nan

    df["comm_reduction"] = [_ratio(x, get(c, "comm_gb"), "reduction")
                            for x, c in zip(df["comm_gb"], cells)]
    df["inter_reduction"] = [_ratio(x, get(c, "inter_gb"), "reduction")
                             for x, c in zip(df["inter_gb"], cells)]
    df["speedup"] = [_ratio(x, get(c, "_t_batch_s"), "speedup")
                     for x, c in zip(df["_t_batch_s"], cells)]


def layer_figures(r, baseline="baseline"):
    """One row per (strategy, layer): comm_gb, inter_gb, inter_share, idle_pct, jain,
    balancedness, throughput, p50/p95/p99_ms, ffn/dispatch/combine_ms, algbw/busbw_gbps,
    meas_pred, replicas, and the ratios against the reference's same layer."""
    m = r.measures
    if not len(m):
        return pd.DataFrame(columns=r.id_columns + ["layer"])
    il = _per_iteration_layer(m)
    g = il.groupby(["strategy", "layer"], observed=True)
    out = g.agg(comm=("comm", "median"), inter=("inter", "median"),
                idle=("idle_fraction", "median"), jain=("jain", "median"),
                balancedness=("balancedness", "median"), t50=("t_layer", "median"),
                ffn=("t_ffn", "median"), disp=("t_dispatch", "median"),
                comb=("t_combine", "median"), dbytes=("dbytes", "median"),
                ranks=("ranks", "first")).reset_index()
    tokens = il.groupby(["strategy", "iteration"], observed=True)["batch_tokens"].first()
    tok = tokens.groupby(level=0, observed=True).median()
    q = g["t_layer"].quantile
    out["p50_ms"] = 1e3 * q(0.5).to_numpy()
    out["p95_ms"] = 1e3 * q(0.95).to_numpy()
    out["p99_ms"] = 1e3 * q(0.99).to_numpy()
    out["comm_gb"] = out["comm"] / GB
    out["inter_gb"] = out["inter"] / GB
    out["inter_share"] = np.where(out["comm"] > 0, 100.0 * out["inter"] / out["comm"].where(
        out["comm"] > 0, 1), 0.0)
    out["idle_pct"] = 100.0 * out["idle"]
    out["throughput"] = [_rate(tok[s], t) for s, t in zip(out["strategy"], out["t50"])]
    out["ffn_ms"], out["dispatch_ms"], out["combine_ms"] = (1e3 * out[c] for c in
                                                             ("ffn", "disp", "comb"))
    out["algbw_gbps"] = [_rate(b, t) / GB for b, t in zip(out["dbytes"], out["disp"])]
    out["busbw_gbps"] = out["algbw_gbps"] * (out["ranks"] - 1) / out["ranks"]
    ls = r.layer_summary
    if "predicted_t_layer" in ls and r.provenance.get("backend") != "model":
        pred = ls.set_index(["strategy", "layer"])["predicted_t_layer"]
        p = [pred.get((s, l), np.nan) for s, l in zip(out["strategy"], out["layer"])]
        out["meas_pred"] = [t / x if x and x > 0 else np.nan for t, x in zip(out["t50"], p)]
    pl = r.placement
    if len(pl):
        extra = pl[pl["replica"] > 0].groupby(["strategy", "layer"], observed=True).size()
        has = set(pl["strategy"].astype(str))
        out["replicas"] = [float(extra.get((s, l), 0)) if s in has else np.nan
                           for s, l in zip(out["strategy"], out["layer"])]
    base = out[out["strategy"] == baseline].set_index("layer")
    for col, src, kind in (("comm_reduction", "comm_gb", "reduction"),
                           ("inter_reduction", "inter_gb", "reduction"),
                           ("speedup", "t50", "speedup")):
        out[col] = [_ratio(x, base[src].get(l, np.nan), kind) if len(base) else np.nan
                    for x, l in zip(out[src], out["layer"])]
    return out.drop(columns=["comm", "inter", "idle", "t50", "ffn", "disp", "comb", "dbytes",
                             "ranks"])
