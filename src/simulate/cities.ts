/** A real city a simulated sensor is placed in. */
export interface City {
  /** 4-letter upper-case code, the prefix of the sensor ids placed here (e.g. `NEWY`). */
  readonly code: string;
  /** City name, written to the `location` column. */
  readonly name: string;
  /** ISO 3166-1 alpha-2 country code. */
  readonly country: string;
  /** Degrees north (WGS 84), written to `latitude`. */
  readonly lat: number;
  /** Degrees east (WGS 84), written to `longitude`. */
  readonly lon: number;
  /**
   * UTC offset of the city's standard time, `±HH:MM`, written to `original_timezone`.
   * Daylight saving is not modelled: a sensor keeps one offset for its whole life.
   */
  readonly tz: string;
}

/** 42 cities on every inhabited continent, city-centre coordinates. */
export const CITIES: readonly City[] = [
  { code: 'NEWY', name: 'New York', country: 'US', lat: 40.7128, lon: -74.006, tz: '-05:00' },
  { code: 'LOSA', name: 'Los Angeles', country: 'US', lat: 34.0522, lon: -118.2437, tz: '-08:00' },
  { code: 'CHIC', name: 'Chicago', country: 'US', lat: 41.8781, lon: -87.6298, tz: '-06:00' },
  { code: 'HONO', name: 'Honolulu', country: 'US', lat: 21.3069, lon: -157.8583, tz: '-10:00' },
  { code: 'TORO', name: 'Toronto', country: 'CA', lat: 43.6532, lon: -79.3832, tz: '-05:00' },
  { code: 'VANC', name: 'Vancouver', country: 'CA', lat: 49.2827, lon: -123.1207, tz: '-08:00' },
  { code: 'MEXI', name: 'Mexico City', country: 'MX', lat: 19.4326, lon: -99.1332, tz: '-06:00' },
  { code: 'BOGO', name: 'Bogotá', country: 'CO', lat: 4.711, lon: -74.0721, tz: '-05:00' },
  { code: 'LIMA', name: 'Lima', country: 'PE', lat: -12.0464, lon: -77.0428, tz: '-05:00' },
  { code: 'SANT', name: 'Santiago', country: 'CL', lat: -33.4489, lon: -70.6693, tz: '-04:00' },
  { code: 'SAOP', name: 'São Paulo', country: 'BR', lat: -23.5505, lon: -46.6333, tz: '-03:00' },
  { code: 'BUEN', name: 'Buenos Aires', country: 'AR', lat: -34.6037, lon: -58.3816, tz: '-03:00' },
  { code: 'REYK', name: 'Reykjavík', country: 'IS', lat: 64.1466, lon: -21.9426, tz: '+00:00' },
  { code: 'LOND', name: 'London', country: 'GB', lat: 51.5074, lon: -0.1278, tz: '+00:00' },
  { code: 'PARI', name: 'Paris', country: 'FR', lat: 48.8566, lon: 2.3522, tz: '+01:00' },
  { code: 'MADR', name: 'Madrid', country: 'ES', lat: 40.4168, lon: -3.7038, tz: '+01:00' },
  { code: 'AMST', name: 'Amsterdam', country: 'NL', lat: 52.3676, lon: 4.9041, tz: '+01:00' },
  { code: 'BERL', name: 'Berlin', country: 'DE', lat: 52.52, lon: 13.405, tz: '+01:00' },
  { code: 'ROME', name: 'Rome', country: 'IT', lat: 41.9028, lon: 12.4964, tz: '+01:00' },
  { code: 'STOC', name: 'Stockholm', country: 'SE', lat: 59.3293, lon: 18.0686, tz: '+01:00' },
  { code: 'WARS', name: 'Warsaw', country: 'PL', lat: 52.2297, lon: 21.0122, tz: '+01:00' },
  { code: 'ISTA', name: 'Istanbul', country: 'TR', lat: 41.0082, lon: 28.9784, tz: '+03:00' },
  { code: 'MOSC', name: 'Moscow', country: 'RU', lat: 55.7558, lon: 37.6173, tz: '+03:00' },
  { code: 'CAIR', name: 'Cairo', country: 'EG', lat: 30.0444, lon: 31.2357, tz: '+02:00' },
  { code: 'LAGO', name: 'Lagos', country: 'NG', lat: 6.5244, lon: 3.3792, tz: '+01:00' },
  { code: 'NAIR', name: 'Nairobi', country: 'KE', lat: -1.2921, lon: 36.8219, tz: '+03:00' },
  { code: 'JOHA', name: 'Johannesburg', country: 'ZA', lat: -26.2041, lon: 28.0473, tz: '+02:00' },
  { code: 'DUBA', name: 'Dubai', country: 'AE', lat: 25.2048, lon: 55.2708, tz: '+04:00' },
  { code: 'MUMB', name: 'Mumbai', country: 'IN', lat: 19.076, lon: 72.8777, tz: '+05:30' },
  { code: 'DELH', name: 'Delhi', country: 'IN', lat: 28.7041, lon: 77.1025, tz: '+05:30' },
  { code: 'BANG', name: 'Bangkok', country: 'TH', lat: 13.7563, lon: 100.5018, tz: '+07:00' },
  { code: 'JAKA', name: 'Jakarta', country: 'ID', lat: -6.2088, lon: 106.8456, tz: '+07:00' },
  { code: 'SING', name: 'Singapore', country: 'SG', lat: 1.3521, lon: 103.8198, tz: '+08:00' },
  { code: 'HONG', name: 'Hong Kong', country: 'HK', lat: 22.3193, lon: 114.1694, tz: '+08:00' },
  { code: 'MANI', name: 'Manila', country: 'PH', lat: 14.5995, lon: 120.9842, tz: '+08:00' },
  { code: 'SHAN', name: 'Shanghai', country: 'CN', lat: 31.2304, lon: 121.4737, tz: '+08:00' },
  { code: 'BEIJ', name: 'Beijing', country: 'CN', lat: 39.9042, lon: 116.4074, tz: '+08:00' },
  { code: 'SEOU', name: 'Seoul', country: 'KR', lat: 37.5665, lon: 126.978, tz: '+09:00' },
  { code: 'TOKY', name: 'Tokyo', country: 'JP', lat: 35.6762, lon: 139.6503, tz: '+09:00' },
  { code: 'SYDN', name: 'Sydney', country: 'AU', lat: -33.8688, lon: 151.2093, tz: '+10:00' },
  { code: 'MELB', name: 'Melbourne', country: 'AU', lat: -37.8136, lon: 144.9631, tz: '+10:00' },
  { code: 'AUCK', name: 'Auckland', country: 'NZ', lat: -36.8485, lon: 174.7633, tz: '+12:00' },
];
