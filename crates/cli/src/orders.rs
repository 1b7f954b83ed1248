//! `creatorflow-cli orders list|show|export|track|import-tracking`: reviewing the local order cache and
//! entering tracking numbers for seller-shipped orders (all offline, no secret needed).

use clap::Subcommand;
use creatorflow_engine::store::OrderDetail;
use creatorflow_engine::{Console, OrderQuery, TrackingCsv, TrackingEntry};

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
    /// Write every order the filters match as CSV (newest first), read in keyset pages.
    Export {
        #[arg(long = "status", value_name = "S")]
        statuses: Vec<String>,
        #[arg(long, value_name = "TEXT")]
        search: Option<String>,
        #[arg(long, value_name = "NAME")]
        shop: Option<String>,
        #[arg(long)]
        at_risk: bool,
        /// The file to write (default: stdout).
        #[arg(long, short, value_name = "FILE")]
        output: Option<std::path::PathBuf>,
    },
    /// Record the tracking number of a seller-shipped order; the pipeline ships it with TikTok.
    Track {
        /// The TikTok order id, or the local id.
        id: String,
        #[arg(long, value_name = "NUMBER")]
        tracking: String,
        /// TikTok's shipping provider id, or the provider's name (e.g. "Royal Mail").
        #[arg(long, value_name = "PROVIDER")]
        provider: String,
        #[arg(long)]
        json: bool,
    },
    /// Import tracking numbers from a CSV file with the header order_id,tracking_number,provider.
    ImportTracking {
        file: std::path::PathBuf,
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

pub async fn run(console: &Console, cmd: &OrdersCommand, actor: &str) -> anyhow::Result<()> {
    match cmd {
        OrdersCommand::List { statuses, search, shop, at_risk, limit, json } => {
            let q = OrderQuery {
                statuses: statuses.clone(),
                search: search.clone(),
                shop: shop.clone(),
                at_risk: *at_risk,
                limit: Some(*limit),
                ..OrderQuery::default()
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
        OrdersCommand::Export { statuses, search, shop, at_risk, output } => {
            let q = OrderQuery {
                statuses: statuses.clone(),
                search: search.clone(),
                shop: shop.clone(),
                at_risk: *at_risk,
                ..OrderQuery::default()
            };
            let n = match output {
                Some(path) => {
                    let file = std::fs::File::create(path)
                        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
                    let mut w = std::io::BufWriter::new(file);
                    console.write_orders_csv(&q, &mut w).await?
                }
                None => console.write_orders_csv(&q, &mut std::io::BufWriter::new(std::io::stdout())).await?,
            };
            eprintln!("exported {n} orders");
            Ok(())
        }
        OrdersCommand::Track { id, tracking, provider, json } => {
            let entry = TrackingEntry { order: id.clone(), tracking_number: tracking.clone(), provider: provider.clone() };
            let r = console.add_tracking(&entry, actor).await?;
            if *json {
                return print_json(&r);
            }
            println!(
                "order {}: tracking {} ({}) {:?}; ship job {:?}",
                r.tts_order_id, r.tracking_number, r.provider, r.outcome, r.ship_job
            );
            Ok(())
        }
        OrdersCommand::ImportTracking { file, json } => {
            let csv = std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let report = console.import_tracking_csv(&TrackingCsv { csv }, actor).await?;
            if *json {
                return print_json(&report);
            }
            for l in &report.lines {
                println!("line {:>5}  {:<10} {:<22} {}", l.line, format!("{:?}", l.outcome).to_lowercase(), cell(&l.order, 22), l.reason.as_deref().unwrap_or(""));
            }
            println!("{} applied, {} unchanged, {} skipped", report.applied, report.unchanged, report.skipped);
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
