declare module 'bittorrent-tracker/server';
