//! Geometry on the sphere: `area()`, `enclosed-area()`, `distance()`.

use super::*;

/// Earth's radius in metres for `area()` and `distance()` (WGS84's equatorial radius).
const EARTH_RADIUS: f64 = 6_378_137.0;

/// The points (latitude, longitude in degrees) of geopoint, geotrace and geoshape
/// values: `lat lon [alt [acc]]` joined by `;`, or the instances of a repeated
/// geopoint.
pub(super) fn geo_points(ev: &Eval, args: &[Node]) -> R<Vec<(f64, f64)>> {
    let mut points = Vec::new();
    for a in args {
        for v in spread(ev.eval(a)?) {
            let text = v.to_text();
            for point in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
                let mut parts = point.split_whitespace().map(parse_number);
                match (parts.next().flatten(), parts.next().flatten()) {
                    (Some(lat), Some(lon)) if lat.abs() <= 90.0 && lon.abs() <= 180.0 => {
                        points.push((lat, lon))
                    }
                    _ => {
                        return Err(ExprError::at(
                            a.span,
                            format!(
                                "`{}` is not a place: write points as 'latitude longitude', \
                                 joined by ';'",
                                ev.quote(a)
                            ),
                        ))
                    }
                }
            }
        }
    }
    Ok(points)
}

/// The area in square metres of the polygon through `points` on a sphere (the last
/// point joins the first).
pub(super) fn area(points: &[(f64, f64)]) -> f64 {
    if points.len() < 3 {
        return 0.0;
    }
    let mut sum = 0.0;
    for (i, &(lat1, lon1)) in points.iter().enumerate() {
        let (lat2, lon2) = points[(i + 1) % points.len()];
        sum +=
            (lon2 - lon1).to_radians() * (2.0 + lat1.to_radians().sin() + lat2.to_radians().sin());
    }
    (sum * EARTH_RADIUS * EARTH_RADIUS / 2.0).abs()
}

/// The great-circle distance in metres between two points (haversine).
pub(super) fn distance((lat1, lon1): (f64, f64), (lat2, lon2): (f64, f64)) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS * h.sqrt().min(1.0).asin()
}
