import { CITIES, type City } from './cities.ts';
import type { Rng } from './random.ts';

/** The constant attributes of one simulated sensor: every row it writes repeats them. */
export interface SimSensor {
  /** Position in the sensor list (0-based); rows are assigned to sensors round-robin by it. */
  readonly index: number;
  /** `CITY_XXXXXX`: the city's 4-letter code, `_`, 6 random base36 upper-case characters. */
  readonly sensorId: string;
  readonly city: City;
  /** Where the sensor is, degrees north (WGS 84): the city centre, or a point near it when placed (see {@link Placement}). */
  readonly latitude: number;
  /** Where the sensor is, degrees east (WGS 84). */
  readonly longitude: number;
  readonly firmwareVersion: string;
  readonly model: string;
  readonly manufacturer: string;
  readonly serialNumber: string;
  /** `YYYY-MM-DD`, 1–12 months before installation. */
  readonly manufactureDate: string;
  readonly deploymentType: string;
  /** `YYYY-MM-DD`, 1–24 months before the first simulated reading. */
  readonly installationDate: string;
  /** Mounting height above ground, metres, 0.1 m precision. */
  readonly heightMeters: number;
  /** Compass heading the sensor faces, whole degrees in [0, 360). */
  readonly orientationDegrees: number;
  /** Host instance id, AWS style (`i-` + 17 hex digits). */
  readonly instanceId: string;
  readonly sensorType: string;
}

const BASE36 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const HEX = '0123456789abcdef';
const DAY_MS = 86_400_000;

/** Catalogue of plausible hardware: manufacturer, serial prefix, models. */
const CATALOGUE = [
  { manufacturer: 'SensorTech', prefix: 'ST', models: ['EnvMonitor-3000', 'EnvMonitor-3100'] },
  { manufacturer: 'EnviroSense', prefix: 'ES', models: ['ES-Pro 200', 'ES-Pro 300'] },
  { manufacturer: 'IoTPro', prefix: 'IP', models: ['IoT-Sense X1', 'IoT-Sense X2'] },
  { manufacturer: 'Meridian Instruments', prefix: 'MI', models: ['MI-ENV-5'] },
] as const;
const FIRMWARE = ['1.0.4', '1.2.0', '1.2.3', '2.0.1', '2.1.0', '3.0.2'] as const;
/** Deployment type and the sensor type that goes with it. */
const DEPLOYMENTS = [
  { deploymentType: 'outdoor', sensorType: 'weather' },
  { deploymentType: 'rooftop', sensorType: 'weather' },
  { deploymentType: 'indoor', sensorType: 'environmental' },
  { deploymentType: 'industrial', sensorType: 'industrial' },
] as const;

/** Sensors pinned to given cities, e.g. around the edge node that reads them. */
export interface Placement {
  /** Cities the sensors are dealt to, round-robin in this order (not shuffled). */
  readonly cities: readonly City[];
  /** Each sensor sits at a uniformly random point within this many km of its city centre. */
  readonly spreadKm: number;
}

const KM_PER_DEGREE = 111.32;

function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * Creates `count` sensors with distinct ids. Cities are dealt from a shuffled list so the
 * first 42 sensors sit in 42 different cities at the city centre; more sensors reuse cities in
 * the same order. With a `placement`, sensors are dealt to its cities in order instead, each
 * near (not at) its city centre.
 * Dates are relative to `firstEventMs` (epoch ms of the first reading), so a run is
 * reproducible when that time is fixed.
 */
export function createSensors(count: number, rng: Rng, firstEventMs: number, placement?: Placement): SimSensor[] {
  const order = placement ? placement.cities.slice() : CITIES.slice();
  if (!placement) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
  }
  const used = new Set<string>();
  const sensors: SimSensor[] = [];
  for (let index = 0; index < count; index++) {
    const city = order[index % order.length];
    let sensorId: string;
    do sensorId = `${city.code}_${rng.chars(6, BASE36)}`;
    while (used.has(sensorId));
    used.add(sensorId);
    const hw = rng.pick(CATALOGUE);
    const deployment = rng.pick(DEPLOYMENTS);
    const installedMs = firstEventMs - (30 + rng.int(700)) * DAY_MS;
    const manufacturedMs = installedMs - (30 + rng.int(335)) * DAY_MS;
    const [latitude, longitude] = placement ? near(city, placement.spreadKm, rng) : [city.lat, city.lon];
    sensors.push({
      index,
      sensorId,
      city,
      latitude,
      longitude,
      firmwareVersion: rng.pick(FIRMWARE),
      model: rng.pick(hw.models),
      manufacturer: hw.manufacturer,
      serialNumber: `${hw.prefix}-${isoDate(manufacturedMs).slice(0, 4)}-${rng.chars(6, '0123456789')}`,
      manufactureDate: isoDate(manufacturedMs),
      deploymentType: deployment.deploymentType,
      installationDate: isoDate(installedMs),
      heightMeters: Math.round(rng.range(0.5, 40) * 10) / 10,
      orientationDegrees: rng.int(360),
      instanceId: `i-${rng.chars(17, HEX)}`,
      sensorType: deployment.sensorType,
    });
  }
  return sensors;
}

/**
 * A uniformly random point within `km` of the city centre (a flat-earth disc: at a few km the
 * error is far below GPS precision), rounded to 6 decimals (~0.1 m), from the sensor stream
 * (only when placed: unplaced runs draw exactly what they drew before placement existed).
 */
function near(city: City, km: number, rng: Rng): [number, number] {
  const r = km * Math.sqrt(rng.next());
  const a = 2 * Math.PI * rng.next();
  const lat = city.lat + (r * Math.cos(a)) / KM_PER_DEGREE;
  const lon = city.lon + (r * Math.sin(a)) / (KM_PER_DEGREE * Math.cos((city.lat * Math.PI) / 180));
  const round6 = (x: number) => Math.round(x * 1e6) / 1e6;
  return [round6(lat), round6(((lon + 540) % 360) - 180)];
}
