//! `creatorflow-cli orders list|show`: reviewing the local order cache (works offline, needs no secret).

use clap::Subcommand;
use creatorflow_engine::store::OrderDetail;
use creatorflow_engine::{Console, OrderQuery};

use crate::text::{cell, opt_utc, print_json, utc, utc_ms};

#[derive(Subcommand, Debug)]
pub enum OrdersCommand {
    /// List cached orders, newest first.
    List {
        /// Only orders in this TikTok status (AWAITING_SHIPMENT, ON_HOLD, ...); repeat for several.
        #[arg(long = "status", value_name = "S")]
        statuses: Vec<String>,
        /// Every word a prefix of the order id, buyer name, product, SKU or tracking number.
        #[arg(long, value_name = "TEXT")]
        search: Option<String>,
        /// Only this shop (its local name).
        #[arg(long, value_name = "NAME")]
        shop: Option<String>,
        /// Only unshipped orders whose ship-by time is within 24 hours (or past).
        #[arg(long)]
        at_risk: bool,
        /// At most this many orders.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=500))]
        limit: u32,
        /// Print one JSON document: {"orders": [...], "next": cursor or null}.
        #[arg(long)]
        json: bool,
    },
    /// Show one order: line items, packages (label cached or not), shipments and its timeline.
    Show {
        /// The TikTok order id, or the local id (`orders list` shows both).
        id: String,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(console: &Console, cmd: &OrdersCommand) -> anyhow::Result<()> {
    match cmd {
        OrdersCommand::List { statuses, search, shop, at_risk, limit, json } => {
            let q = OrderQuery {
                statuses: statuses.clone(),
                search: search.clone(),
                shop: shop.clone(),
                at_risk: *at_risk,
                limit: Some(*limit),
                after: None,
            };
            let page = console.list_orders(&q).await?;
            if *json {
                return print_json(&page);
            }
            if page.orders.is_empty() {
                println!("no orders match");
                return Ok(());
            }
            println!(
                "{:>8} {:<20} {:<20} {:<20} {:>12} {:<20} {:<20} RISK",
                "ID", "TIKTOK ORDER", "STATUS", "BUYER", "TOTAL", "CREATED", "SHIP BY"
            );
            for o in &page.orders {
                println!(
                    "{:>8} {:<20} {:<20} {:<20} {:>12} {:<20} {:<20} {}",
                    o.id,
                    cell(&o.tts_order_id, 20),
                    cell(&o.status, 20),
                    cell(&o.buyer_name, 20),
                    format!("{} {}", o.total_amount, o.currency),
                    utc(o.create_time),
                    opt_utc(o.ship_by_time),
                    if o.at_risk { "AT RISK" } else { "" }
                );
            }
            if page.next.is_some() {
                println!("(more orders: raise --limit or narrow the filters)");
            }
            Ok(())
        }
        OrdersCommand::Show { id, json } => {
            let d = console.show_order(id).await?;
            if *json {
                return print_json(&d);
            }
            print_detail(&d);
            Ok(())
        }
    }
}

fn print_detail(d: &OrderDetail) {
    let o = &d.order;
    println!("order {} (local id {}, shop id {})", o.tts_order_id, o.id, o.shop_id);
    println!("  status:        {}{}", o.status, if o.at_risk { " (AT RISK)" } else { "" });
    println!("  buyer:         {}", o.buyer_name);
    println!("  total:         {} {}", o.total_amount, o.currency);
    println!("  shipping:      {}", o.shipping_type);
    println!("  created:       {}", utc(o.create_time));
    println!("  paid:          {}", opt_utc(o.paid_time));
    println!("  ship by:       {}", opt_utc(o.ship_by_time));
    println!("  synced:        {}", utc_ms(o.synced_at));
    println!("line items ({}):", d.line_items.len());
    for li in &d.line_items {
        println!(
            "  {}  {} / {}  sku {}  {} {}  {}",
            li.tts_line_item_id, li.product_name, li.sku_name, li.seller_sku, li.sale_price, li.currency, li.display_status
        );
    }
    println!("packages ({}):", d.packages.len());
    for p in &d.packages {
        println!(
            "  {}  {}  tracking {}  provider {}  label {}",
            p.tts_package_id,
            if p.status.is_empty() { "-" } else { &p.status },
            p.tracking_number.as_deref().unwrap_or("-"),
            p.shipping_provider.as_deref().unwrap_or("-"),
            if p.has_label { "cached" } else { "not cached" }
        );
    }
    println!("shipments ({}):", d.shipments.len());
    for s in &d.shipments {
        println!(
            "  {}  tracking {}  provider {}  {}  from {}  shipped {}",
            s.id,
            s.tracking_number,
            s.shipping_provider.as_deref().unwrap_or("-"),
            s.status.as_str(),
            s.source.as_str(),
            s.shipped_at.map_or_else(|| "-".to_owned(), utc_ms)
        );
    }
    println!("timeline ({}):", d.timeline.len());
    for e in &d.timeline {
        println!("  {}  {:<8} {:<24} {}", utc_ms(e.at), e.source.as_str(), e.kind, e.message);
    }
}
