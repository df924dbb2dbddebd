//! "Near me": service units within a radius of a point, nearest first. The distance itself is
//! computed by the database (see the `near` migration); this module holds the limits and the
//! bounding box that lets the database use an index before measuring.

use crate::place::GeoPoint;

/// Radius when a reader gives a point but no `radius_km`: a long drive, not a trip across MT.
pub const DEFAULT_RADIUS_KM: f64 = 50.0;
/// Largest radius accepted: beyond it "near" means little, and lists grow to the whole state.
pub const MAX_RADIUS_KM: f64 = 500.0;
/// Mean Earth radius (IUGG), the one the database's haversine uses.
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

/// A latitude/longitude rectangle, in degrees, bounds included.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundingBox {
    pub lat_min: f64,
    pub lat_max: f64,
    pub lon_min: f64,
    pub lon_max: f64,
}

impl BoundingBox {
    pub fn contains(&self, point: GeoPoint) -> bool {
        (self.lat_min..=self.lat_max).contains(&point.lat)
            && (self.lon_min..=self.lon_max).contains(&point.lon)
    }
}

/// Brazil, oceanic islands included (Fernando de Noronha, Trindade and Martim Vaz at 28.8° W): a
/// cheap sanity check that a point is a place in the country, not a swapped or mistyped one.
pub const BRAZIL: BoundingBox = BoundingBox {
    lat_min: -33.8,
    lat_max: 5.3,
    lon_min: -74.0,
    lon_max: -28.8,
};

/// A point and how far from it to look.
/// Distances are shown, sorted and compared rounded to this (10 m; see the `near` migration).
pub const DISTANCE_STEP_KM: f64 = 0.01;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Near {
    pub point: GeoPoint,
    pub radius_km: f64,
}

impl Near {
    /// The smallest rectangle holding every point within the radius (great-circle), so a btree on
    /// (lat, lon) can discard the rest before any distance is computed.
    /// It is drawn half a rounding step wider than the radius: lists compare the distance rounded
    /// to 10 m, so a unit up to 5 m beyond the radius is listed (at exactly the radius) whatever
    /// its bearing.
    pub fn bounding_box(&self) -> BoundingBox {
        let reach_km = self.radius_km + DISTANCE_STEP_KM / 2.0;
        let angle = (reach_km / EARTH_RADIUS_KM).to_degrees();
        let lat_min = self.point.lat - angle;
        let lat_max = self.point.lat + angle;
        let whole_longitude = BoundingBox {
            lat_min: lat_min.max(-90.0),
            lat_max: lat_max.min(90.0),
            lon_min: -180.0,
            lon_max: 180.0,
        };
        if lat_min <= -90.0 || lat_max >= 90.0 {
            // A pole is inside the circle: every longitude is.
            return whole_longitude;
        }
        // The widest longitude reached is not at the centre's latitude but where the circle's
        // meridians are tangent to it (Matuschek's bounding coordinates).
        let radians = reach_km / EARTH_RADIUS_KM;
        let ratio = radians.sin() / self.point.lat.to_radians().cos();
        if ratio >= 1.0 {
            return whole_longitude;
        }
        let spread = ratio.asin().to_degrees();
        let (lon_min, lon_max) = (self.point.lon - spread, self.point.lon + spread);
        if lon_min < -180.0 || lon_max > 180.0 {
            // Across the antimeridian: never in Brazil, so the simple wide answer is enough.
            return whole_longitude;
        }
        BoundingBox {
            lat_min,
            lat_max,
            lon_min,
            lon_max,
        }
    }
}

/// Great-circle distance in km (haversine), as the database computes it before rounding.
pub fn haversine_km(a: GeoPoint, b: GeoPoint) -> f64 {
    let half_lat = (b.lat - a.lat).to_radians() / 2.0;
    let half_lon = (b.lon - a.lon).to_radians() / 2.0;
    let h = half_lat.sin().powi(2)
        + a.lat.to_radians().cos() * b.lat.to_radians().cos() * half_lon.sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CUIABA: GeoPoint = GeoPoint {
        lat: -15.601,
        lon: -56.0974,
    };
    const RONDONOPOLIS: GeoPoint = GeoPoint {
        lat: -16.4673,
        lon: -54.6372,
    };

    #[test]
    fn haversine_matches_a_known_distance() {
        // Cuiabá to Rondonópolis in a straight line is about 182 km.
        let d = haversine_km(CUIABA, RONDONOPOLIS);
        assert!((d - 182.0).abs() < 3.0, "{d}");
        assert!(haversine_km(CUIABA, CUIABA).abs() < 1e-9);
        // A degree of latitude is about 111.2 km anywhere.
        let north = GeoPoint {
            lat: CUIABA.lat + 1.0,
            lon: CUIABA.lon,
        };
        assert!((haversine_km(CUIABA, north) - 111.195).abs() < 0.01);
    }

    #[test]
    fn the_box_holds_the_circle_and_little_more() {
        for radius_km in [0.5, 50.0, 500.0] {
            let near = Near {
                point: CUIABA,
                radius_km,
            };
            let bbox = near.bounding_box();
            // Points on the circle, every 5 degrees of bearing, are inside the box, and so are
            // those up to 5 m beyond it, which round to the radius.
            for step in 0..72 {
                let bearing = f64::from(step * 5).to_radians();
                let angle = (radius_km + DISTANCE_STEP_KM / 2.0) / EARTH_RADIUS_KM * 0.999_999;
                let (lat1, lon1) = (CUIABA.lat.to_radians(), CUIABA.lon.to_radians());
                let lat2 =
                    (lat1.sin() * angle.cos() + lat1.cos() * angle.sin() * bearing.cos()).asin();
                let lon2 = lon1
                    + (bearing.sin() * angle.sin() * lat1.cos())
                        .atan2(angle.cos() - lat1.sin() * lat2.sin());
                let point = GeoPoint {
                    lat: lat2.to_degrees(),
                    lon: lon2.to_degrees(),
                };
                assert!(bbox.contains(point), "{radius_km} km, bearing {step}");
            }
            // Its corners are outside the circle: the box is not needlessly wide.
            let corner = GeoPoint {
                lat: bbox.lat_max,
                lon: bbox.lon_max,
            };
            assert!(haversine_km(CUIABA, corner) > radius_km);
        }
    }

    #[test]
    fn a_circle_around_a_pole_spans_every_longitude() {
        let near = Near {
            point: GeoPoint {
                lat: -89.9,
                lon: 10.0,
            },
            radius_km: 50.0,
        };
        let bbox = near.bounding_box();
        assert_eq!((bbox.lon_min, bbox.lon_max), (-180.0, 180.0));
        assert_eq!(bbox.lat_min, -90.0);
    }

    #[test]
    fn brazil_holds_its_extremes_and_not_its_neighbours() {
        for (lat, lon) in [
            (5.27, -60.21),   // Monte Caburaí
            (-33.75, -53.39), // Chuí
            (-7.54, -73.99),  // Serra do Divisor
            (-20.5, -29.3),   // Trindade
            (-3.85, -32.42),  // Fernando de Noronha
            (-15.601, -56.0974),
        ] {
            assert!(BRAZIL.contains(GeoPoint { lat, lon }), "{lat},{lon}");
        }
        for (lat, lon) in [(40.7, -74.0), (-15.6, 56.1), (-34.6, -58.4), (56.1, -15.6)] {
            assert!(!BRAZIL.contains(GeoPoint { lat, lon }), "{lat},{lon}");
        }
    }
}
