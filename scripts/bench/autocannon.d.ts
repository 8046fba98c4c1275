// autocannon ships no type declarations; this is the part the benchmarks use.
declare module 'autocannon' {
  export interface Request {
    method?: string
    path?: string
    headers?: Record<string, string>
    body?: string
    setupRequest?: (request: Request, context: Record<string, unknown>) => Request
  }
  export interface Options {
    url: string
    connections?: number
    pipelining?: number
    duration?: number
    method?: string
    headers?: Record<string, string>
    body?: string
    requests?: Request[]
  }
  export interface Histogram { average: number, mean: number, p50: number, p90: number, p99: number, max: number }
  export interface Result {
    requests: Histogram & { total: number, sent: number }
    latency: Histogram
    '1xx': number
    '2xx': number
    '3xx': number
    '4xx': number
    '5xx': number
    non2xx: number
    errors: number
    timeouts: number
    duration: number
  }
  function autocannon (options: Options): Promise<Result>
  export default autocannon
}
