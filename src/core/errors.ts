export class HakoError extends Error { constructor(message: string) { super(message); this.name = 'HakoError'; } }
