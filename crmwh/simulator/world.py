"""Assemble the simulated world: every source entity as a table of record versions.

Order matters because behaviour feeds back: campaign responses add purchases,
tickets follow purchases, and bad service removes later purchases (churn)
before any table is written.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from crmwh.simulator.common import SCALES, Clock, ids
from crmwh.simulator.crm import build_crm
from crmwh.simulator.marketing import build_marketing
from crmwh.simulator.population import Ctx, build_ctx
from crmwh.simulator.sales import build_sales, draw_purchases
from crmwh.simulator.service import build_service, churn_filter, draw_tickets

World = dict[tuple[str, str], pa.Table]


def build_world(scale: str, seed: int, clock: Clock) -> tuple[World, Ctx]:
    ctx = build_ctx(seed, SCALES[scale], clock)
    return build_world_from(ctx), ctx


def build_world_from(ctx: Ctx) -> World:
    """Every entity's record versions for the population of ``ctx`` (the whole world or one shard)."""
    mk = build_marketing(ctx)
    pu_all = draw_purchases(ctx, mk.response_party, mk.response_day)
    tk_all = draw_tickets(ctx, pu_all)
    keep_p, keep_t = churn_filter(ctx, pu_all, tk_all)
    pu = pu_all.subset(keep_p)
    new_index = np.full(keep_p.size, -1)
    new_index[keep_p] = np.arange(int(keep_p.sum()))
    tk = tk_all.subset(keep_t)
    erp, facts = build_sales(ctx, pu, mk.lead_id_of_party, mk.lead_campaign_of_party, mk.campaign_id)
    service = build_service(ctx, tk, pu, facts["order_id_num"], new_index[np.maximum(tk.purchase, 0)])
    last_purchase = np.full(ctx.parties.n, np.nan)
    if pu.party.size:
        np.fmax.at(last_purchase, pu.party, pu.day)
    crm = build_crm(ctx, last_purchase)
    mk.tables["leads"] = _link_lead_opportunities(mk.tables["leads"], facts["opp_of_first"])
    world: World = {}
    for name, table in {**mk.tables, **crm}.items():
        world[("crm", name)] = table
    for name, table in erp.items():
        world[("erp", name)] = table
    for system, tables in service.items():
        for name, table in tables.items():
            world[(system, name)] = table
    return world


def _link_lead_opportunities(leads: pa.Table, opp_of_first: np.ndarray) -> pa.Table:
    """Converted leads of businesses point at the opportunity created on conversion."""
    pk = leads.column("_pk").to_numpy()
    party = leads.column("_party").to_numpy()
    converted = pc.equal(leads.column("status"), "converted").to_numpy(zero_copy_only=False)
    opp = opp_of_first[party]
    link = converted & (opp >= 0) & (pk < opp_of_first.size)
    values = np.where(link, np.asarray(ids("OPP", np.maximum(opp, 0) + 1, 8), dtype=object), None)
    idx = leads.column_names.index("converted_opportunity_id")
    return leads.set_column(idx, "converted_opportunity_id", pa.array(values, pa.string()))
