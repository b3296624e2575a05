// deconline: DAIDALUS reference-bands driver (our own code; calls only the
// public DAIDALUS C++ API, which is NOT part of this project).
//
// Usage: daa_bands_json <config.conf> <scenario.daa> > out.json
//
// For every time step of the scenario it prints one JSON object with the
// ownship and traffic states as DAIDALUS sees them and the four kinds of
// bands (hdir [deg true], hs [m/s], vs [m/s], alt [m]).  A fresh Daidalus
// object is used for every time step, so no hysteresis or history carries
// over between steps (the reference is stateless).
#include "Daidalus.h"
#include "DaidalusFileWalker.h"
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>

using namespace larcfm;

// Fixed-point number with `dec` decimals, trailing zeros stripped; NaN -> null.
static std::string num(double x, int dec = 6) {
  if (std::isnan(x)) return "null";
  if (std::isinf(x)) return x > 0 ? "\"inf\"" : "\"-inf\"";
  double r = std::round(x * std::pow(10.0, dec)) / std::pow(10.0, dec);
  if (r == 0) r = 0;  // no "-0"
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", dec, r);
  std::string s(buf);
  s.erase(s.find_last_not_of('0') + 1);
  if (s.back() == '.') s.pop_back();
  return s;
}

static std::string vec(const Vect3& v) {
  return "[" + num(v.x()) + ", " + num(v.y()) + ", " + num(v.z()) + "]";
}

static std::string state(const TrafficState& ac, int alert) {
  // s, v: DAIDALUS's own local Euclidean frame (x east, y north, z up) [m], [m/s].
  // For lat/lon inputs the frame is DAIDALUS's ENU projection centred on the
  // ownship (at zero altitude), so ownship s = [0, 0, alt].
  std::string o = "{\"id\": \"" + ac.getId() + "\", \"s\": " + vec(ac.get_s()) +
                  ", \"v\": " + vec(ac.get_v());
  const Position& p = ac.getPosition();
  if (p.isLatLon()) {
    o += ", \"lla\": [" + num(p.lat() * 180.0 / M_PI, 9) + ", " + num(p.lon() * 180.0 / M_PI, 9) +
         ", " + num(p.alt()) + "]";
  }
  const Velocity& v = ac.getGroundVelocity();
  o += ", \"trk_deg\": " + num(v.compassAngle() * 180.0 / M_PI) + ", \"gs\": " + num(v.gs()) +
       ", \"vs\": " + num(v.vs());
  if (alert >= 0) o += ", \"alert\": " + std::to_string(alert);
  return o + "}";
}

template <class Iv, class Rg>
static std::string bands(int n, Iv iv, Rg rg) {
  std::string o = "[";
  for (int i = 0; i < n; ++i) {
    Interval in = iv(i);
    o += std::string(i ? ", " : "") + "[" + num(in.low) + ", " + num(in.up) + ", \"" +
         BandsRegion::to_string(rg(i)) + "\"]";
  }
  return o + "]";
}

// Recovery information of one kind of bands; empty when not computed.
static std::string recovery(const std::string& key, const RecoveryInformation& r) {
  if (!r.recoveryBandsComputed()) return "";
  return ", \"" + key + "\": {\"time\": " + num(r.timeToRecovery()) + ", \"nfactor\": " + std::to_string(r.nFactor()) +
         ", \"h\": " + num(r.recoveryHorizontalDistance()) +
         ", \"v\": " + num(r.recoveryVerticalDistance()) + "}";
}

int main(int argc, char* argv[]) {
  if (argc != 3) {
    std::cerr << "usage: " << argv[0] << " <config.conf> <scenario.daa>\n";
    return 2;
  }
  DaidalusFileWalker walker(argv[2]);
  if (walker.hasError()) {
    std::cerr << walker.getMessage() << "\n";
    return 1;
  }
  std::cout << "[";
  bool first = true;
  while (!walker.atEnd()) {
    Daidalus daa;
    if (!daa.loadFromFile(argv[1])) {
      std::cerr << "cannot load " << argv[1] << "\n";
      return 1;
    }
    walker.readState(daa);
    std::cout << (first ? "\n" : ",\n");
    first = false;
    std::cout << "{\"time\": " << num(daa.getCurrentTime())
              << ", \"ownship\": " << state(daa.getOwnshipState(), -1) << ", \"traffic\": [";
    for (int ac = 1; ac <= daa.lastTrafficIndex(); ++ac) {
      std::cout << (ac > 1 ? ", " : "") << state(daa.getAircraftStateAt(ac), daa.alertLevel(ac));
    }
    std::cout << "], \"bands\": {"
              << "\"hdir\": " << bands(daa.horizontalDirectionBandsLength(),
                     [&](int i) { return daa.horizontalDirectionIntervalAt(i, "deg"); },
                     [&](int i) { return daa.horizontalDirectionRegionAt(i); })
              << ", \"hs\": " << bands(daa.horizontalSpeedBandsLength(),
                     [&](int i) { return daa.horizontalSpeedIntervalAt(i); },
                     [&](int i) { return daa.horizontalSpeedRegionAt(i); })
              << ", \"vs\": " << bands(daa.verticalSpeedBandsLength(),
                     [&](int i) { return daa.verticalSpeedIntervalAt(i); },
                     [&](int i) { return daa.verticalSpeedRegionAt(i); })
              << ", \"alt\": " << bands(daa.altitudeBandsLength(),
                     [&](int i) { return daa.altitudeIntervalAt(i); },
                     [&](int i) { return daa.altitudeRegionAt(i); })
              << "}";
    std::string rec = recovery("hdir", daa.horizontalDirectionRecoveryInformation()) +
                      recovery("hs", daa.horizontalSpeedRecoveryInformation()) +
                      recovery("vs", daa.verticalSpeedRecoveryInformation()) +
                      recovery("alt", daa.altitudeRecoveryInformation());
    // "recovery" lists only the kinds of bands for which DAIDALUS computed recovery bands.
    std::cout << ", \"recovery\": {" << (rec.empty() ? "" : rec.substr(2)) << "}}";
  }
  std::cout << "\n]\n";
  return 0;
}
